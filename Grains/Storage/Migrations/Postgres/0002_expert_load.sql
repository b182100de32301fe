-- Orchestrator metadata, version 2: per-layer expert loads and routing biases of each step (the
-- dashboard's heatmap). One row per (job, layer, step); a replayed step overwrites. The arrays are
-- JSON text (loads: integers, one per routed expert; biases: numbers, empty for a layer without one).
CREATE TABLE expert_loads (
    job_id  text        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    layer   integer     NOT NULL,
    step    bigint      NOT NULL,
    loads   text        NOT NULL,
    biases  text        NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (job_id, step, layer)
);
