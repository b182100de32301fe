-- Orchestrator metadata, version 4: a checkpoint's lineage. The kind of the job that wrote it (pretrain, sft, grpo,
-- distill) and the checkpoint that job started from (an sft job's parent, or a resume_from), null for a job that
-- started from the seed. Rows written before this version are pretraining checkpoints without a recorded parent.

ALTER TABLE checkpoints ADD COLUMN kind text NOT NULL DEFAULT 'pretrain';
ALTER TABLE checkpoints ADD COLUMN parent_job text NULL;
ALTER TABLE checkpoints ADD COLUMN parent_step bigint NULL;
