-- Orchestrator metadata, version 2 (SQLite): per-layer expert loads and routing biases of each step.
-- See the PostgreSQL script; times are INTEGER microseconds.
CREATE TABLE expert_loads (
    job_id  TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    layer   INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    loads   TEXT    NOT NULL,
    biases  TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (job_id, step, layer)
);
