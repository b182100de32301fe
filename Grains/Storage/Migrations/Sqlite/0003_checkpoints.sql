-- Orchestrator metadata, version 3 (SQLite): the checkpoint index, as in the PostgreSQL schema.
-- (Version 2 is left to the dashboard's migration written in parallel; the runner applies by number.)

CREATE TABLE checkpoints (
    job_id        TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step          INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    committed_at  INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    duration_s    REAL    NOT NULL,
    state         TEXT    NOT NULL,
    PRIMARY KEY (job_id, step)
);

CREATE TABLE checkpoint_shards (
    job_id   TEXT    NOT NULL,
    step     INTEGER NOT NULL,
    rank     INTEGER NOT NULL,
    path     TEXT    NOT NULL,
    bytes    INTEGER NOT NULL,
    sha256   TEXT    NOT NULL,
    tensors  TEXT    NOT NULL,
    PRIMARY KEY (job_id, step, rank),
    FOREIGN KEY (job_id, step) REFERENCES checkpoints (job_id, step) ON DELETE CASCADE
);
