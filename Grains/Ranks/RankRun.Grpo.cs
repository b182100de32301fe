using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training.Rl;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A grpo job on the rank: its data shard's groups of each step's prompts, sampled from the policy with the job's other
/// ranks in lockstep, scored by R1's rewards, the frozen reference's log-probs from the reference checkpoint (loaded
/// into a model holding the same experts as this rank's policy), and <c>grpo.passes</c> updates of the trainer per step.
/// </summary>
internal partial class RankRun
{
    /// <summary>The rank's GRPO objective (the trainer's data each step); the reference is loaded when the first step begins.</summary>
    private GrpoObjective GrpoObjective()
    {
        var spec = Start.Spec;
        var grpo = spec.Grpo ?? throw new InvalidOperationException("a grpo job without its grpo section");
        var problems = GrpoJob.Problems(spec);
        var manifest = ReferenceCheckpoint(grpo.Reference);
        return new GrpoObjective(TokenizerCatalog.Create(grpo.Tokenizer), GrpoJob.Prompts(problems), GrpoJob.Reward(problems), GrpoJob.Options(spec),
            Groups.DataShard, Groups.DataShards, Config.Training!.GradientAccumulation, policy => Reference(policy, manifest));
    }

    /// <summary>The reference checkpoint's manifest, from its job's coordinator (the rank's device thread waits for it).</summary>
    private CheckpointManifest ReferenceCheckpoint(CheckpointSource reference)
    {
        var committed = _services.Grains.GetGrain<ICheckpointCoordinatorGrain>(reference.JobId).List().GetAwaiter().GetResult();
        return committed.FirstOrDefault(c => c.Step == reference.Step)
            ?? throw new InvalidDataException($"grpo.reference: job '{reference.JobId}' has no committed checkpoint at step {reference.Step}");
    }

    /// <summary>A model like <paramref name="policy"/> (config, this rank's experts, device) with the reference checkpoint's weights.</summary>
    private DeepSeekModel Reference(DeepSeekModel policy, CheckpointManifest manifest)
    {
        var reference = new DeepSeekModel(policy.Config, Config.Training!.Seed, policy.Parallel, policy.Device);
        try
        {
            ShardLoader.LoadWeights(reference, manifest, StorageRoot);
            return reference;
        }
        catch
        {
            reference.Dispose();
            throw;
        }
    }

    /// <summary>The grpo objective's last step as the job stores it; null for other kinds.</summary>
    private static GrpoStepMetrics? GrpoMetrics(Kernels.Training.IShardedTrainer trainer)
    {
        if (trainer is not Kernels.Training.Trainer { Objective: GrpoObjective { LastStep: { } step } }) return null;
        return new GrpoStepMetrics(step.Accuracy, step.Format, step.CompletionTokens, step.Kl, step.ClipFraction, step.GenerationTokensPerSecond,
            step.MtpAcceptance, [.. step.Samples.Select(s => new GrpoSampleView(s.Prompt, s.Completion, s.Reward.Accuracy, s.Reward.Format))]);
    }
}
