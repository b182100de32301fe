-- Orchestrator metadata, version 3: the checkpoint index. A checkpoint exists when, and only when, its
-- row and its shard rows are here: they are written together in one transaction (the commit of the
-- two-phase protocol); shard files with no row are garbage.
-- (Version 2 is left to the dashboard's migration written in parallel; the runner applies by number.)

CREATE TABLE checkpoints (
    job_id        text             NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step          bigint           NOT NULL,
    epoch         bigint           NOT NULL,
    committed_at  timestamptz      NOT NULL,
    bytes         bigint           NOT NULL,
    -- From the snapshot to the last shard prepared, in seconds.
    duration_s    double precision NOT NULL,
    -- The trainer's scalar state: step, optimizer updates, tokens seen, data position, seed, config.
    state         json             NOT NULL,
    PRIMARY KEY (job_id, step)
);

CREATE TABLE checkpoint_shards (
    job_id   text    NOT NULL,
    step     bigint  NOT NULL,
    rank     integer NOT NULL,
    -- Relative to the storage root, '/'-separated: job/step/rank-R-eE.ota.
    path     text    NOT NULL,
    bytes    bigint  NOT NULL,
    sha256   text    NOT NULL,
    -- The tensor names in the file (a JSON array): where a loader finds any tensor.
    tensors  json    NOT NULL,
    PRIMARY KEY (job_id, step, rank),
    FOREIGN KEY (job_id, step) REFERENCES checkpoints (job_id, step) ON DELETE CASCADE
);
