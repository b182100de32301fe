using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Grains.Ranks;

/// <summary>The job kind's objective on the rank's data shard, and where its weights start.</summary>
internal partial class RankRun
{
    /// <summary>
    /// Pretrain: token windows of the dataset; sft: the JSONL's examples packed into rows (<see cref="SftPacking"/>), the
    /// masked objective; distill: the teacher data set (made first, see RankRun.Teacher.cs) packed the same way. Every rank reads its own rows of the global batch (EP ranks are data-parallel for the dense layers).
    /// </summary>
    private ITrainingObjective Objective(TokenDataset? dataset)
    {
        var (model, training) = (Config.Model!, Config.Training!);
        if (dataset is not null)
        {
            var window = training.SequenceLength + 1 + model.MtpDepth;
            var batches = new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation,
                Groups.DataShard, Groups.DataShards);
            return new PretrainObjective(batches, training.MicroBatchSize, window);
        }
        if (Start.Spec.Kind == JobKind.Distill) return DistillObjectiveOf();
        if (Start.Spec.Kind == JobKind.Grpo) return GrpoObjective();
        if (Start.Spec.Kind != JobKind.Sft)
            throw new InvalidOperationException($"job kind {Start.Spec.Kind} does not run on ranks yet");
        var tokenizer = TokenizerCatalog.Create(Start.Spec.Sft!.Tokenizer);
        var packing = new SftPacking(JobData.Examples(Start.Spec), training.SequenceLength + 1, training.Seed, tokenizer.EndOfText);
        return new SftObjective(new PackedSftSource(packing, training.Seed, training.MicroBatchSize, training.GradientAccumulation,
            Groups.DataShard, Groups.DataShards, tokenizer.VocabSize));
    }

    /// <summary>
    /// Loads the resume point: the job's own checkpoint (or its <c>resume_from</c>) whole; an sft or grpo job's parent checkpoint
    /// as its weights only, so the fine-tuning starts at step 0 with fresh optimizer moments.
    /// </summary>
    private void Load(Trainer trainer, CheckpointManifest resume)
    {
        var parent = Start.Spec.ResumeFrom is null && (Start.Spec.Sft?.FromCheckpoint ?? Start.Spec.Grpo?.FromCheckpoint) is { } from
            && resume.JobId == from.JobId && resume.Step == from.Step && resume.JobId != Start.Spec.Id;
        if (parent) ShardLoader.Initialize(trainer, resume, StorageRoot);
        else ShardLoader.Restore(trainer, resume, StorageRoot);
    }
}
