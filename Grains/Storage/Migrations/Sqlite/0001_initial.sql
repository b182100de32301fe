-- Orchestrator metadata, version 1 (SQLite, for `orchestrator demo`): the PostgreSQL schema less
-- the Orleans membership tables (a single-node demo uses localhost clustering).
-- Times are INTEGER microseconds since the Unix epoch (UTC), the precision of PostgreSQL's timestamptz.

CREATE TABLE nodes (
    name        TEXT    NOT NULL PRIMARY KEY,
    host        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    last_seen   INTEGER NOT NULL
);

CREATE TABLE devices (
    node        TEXT NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    PRIMARY KEY (node, device_id)
);

CREATE TABLE jobs (
    id              TEXT    NOT NULL PRIMARY KEY,
    spec            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    epoch           INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    error           TEXT    NULL,
    last_event_seq  INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX jobs_by_state ON jobs (state, created_at);

CREATE TABLE job_events (
    job_id  TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    detail  TEXT    NULL,
    PRIMARY KEY (job_id, seq)
);

-- value NULL stands for NaN: SQLite has no NaN, and a diverged loss is worth keeping.
CREATE TABLE metrics (
    job_id  TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL,
    step    INTEGER NOT NULL,
    value   REAL    NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (job_id, name, step)
);
