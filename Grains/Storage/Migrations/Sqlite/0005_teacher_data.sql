-- Orchestrator metadata, version 5 (SQLite): a distill job's teacher data set, as in the PostgreSQL schema.

CREATE TABLE teacher_data (
    job_id         TEXT    NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    teacher_job    TEXT    NOT NULL,
    teacher_step   INTEGER NOT NULL,
    prompt_file    TEXT    NOT NULL,
    prompt_sha256  TEXT    NOT NULL,
    sampling       TEXT    NOT NULL,
    rows           INTEGER NOT NULL,
    skipped        INTEGER NOT NULL,
    path           TEXT    NOT NULL,
    bytes          INTEGER NOT NULL,
    sha256         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
