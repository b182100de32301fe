-- Orchestrator metadata, version 5: a distill job's teacher data set, written once when the file is complete. Its
-- lineage: the teacher checkpoint, the prompt set and its digest, how the teacher decoded; then the file (relative to
-- the storage root), its size and digest, its rows and the prompts left out.

CREATE TABLE teacher_data (
    job_id         text        NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    teacher_job    text        NOT NULL,
    teacher_step   bigint      NOT NULL,
    prompt_file    text        NOT NULL,
    prompt_sha256  text        NOT NULL,
    sampling       json        NOT NULL,
    rows           bigint      NOT NULL,
    skipped        bigint      NOT NULL,
    path           text        NOT NULL,
    bytes          bigint      NOT NULL,
    sha256         text        NOT NULL,
    created_at     timestamptz NOT NULL
);
