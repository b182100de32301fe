-- Orchestrator metadata, version 4 (SQLite): a checkpoint's lineage (kind, parent), as in the PostgreSQL schema.

ALTER TABLE checkpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'pretrain';
ALTER TABLE checkpoints ADD COLUMN parent_job TEXT NULL;
ALTER TABLE checkpoints ADD COLUMN parent_step INTEGER NULL;
