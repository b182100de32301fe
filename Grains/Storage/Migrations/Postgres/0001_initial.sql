-- Orchestrator metadata, version 1: Orleans membership, nodes and devices, jobs, their events and metrics.
-- Times are timestamptz (UTC); the stores truncate to microseconds so that both engines agree.

-- One row per Orleans cluster: the table version that every membership write is conditional on.
CREATE TABLE membership_version (
    cluster_id  text        NOT NULL PRIMARY KEY,
    version     integer     NOT NULL,
    etag        bigint      NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- One row per silo incarnation (address, port, generation).
CREATE TABLE membership (
    cluster_id      text        NOT NULL REFERENCES membership_version (cluster_id) ON DELETE CASCADE,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NOT NULL,
    host_name       text        NOT NULL,
    role_name       text        NOT NULL,
    status          integer     NOT NULL,
    proxy_port      integer     NOT NULL,
    update_zone     integer     NOT NULL,
    fault_zone      integer     NOT NULL,
    suspect_times   text        NULL,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    -- The latest of start, heartbeat and suspicion times: what defunct-entry cleanup ages by.
    last_update     timestamptz NOT NULL,
    etag            bigint      NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);

CREATE INDEX membership_by_status ON membership (cluster_id, status);

CREATE TABLE nodes (
    name        text        NOT NULL PRIMARY KEY,
    host        text        NOT NULL,
    status      text        NOT NULL,
    last_seen   timestamptz NOT NULL
);

CREATE TABLE devices (
    node        text NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
    device_id   text NOT NULL,
    kind        text NOT NULL,
    PRIMARY KEY (node, device_id)
);

-- spec is json (not jsonb) so that it reads back exactly as written.
CREATE TABLE jobs (
    id              text        NOT NULL PRIMARY KEY,
    spec            json        NOT NULL,
    state           text        NOT NULL,
    epoch           bigint      NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    error           text        NULL,
    last_event_seq  bigint      NOT NULL DEFAULT 0
);

CREATE INDEX jobs_by_state ON jobs (state, created_at);

CREATE TABLE job_events (
    job_id  text        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq     bigint      NOT NULL,
    at      timestamptz NOT NULL,
    kind    text        NOT NULL,
    detail  json        NULL,
    PRIMARY KEY (job_id, seq)
);

-- One value per (job, name, step): a step replayed after a recovery overwrites its value.
CREATE TABLE metrics (
    job_id  text             NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name    text             NOT NULL,
    step    bigint           NOT NULL,
    value   double precision NOT NULL,
    at      timestamptz      NOT NULL,
    PRIMARY KEY (job_id, name, step)
);
