using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Jobs;

/// <summary>A grpo job's submission check of its two checkpoints, and its step metrics and sampled completions in the store.</summary>
public sealed partial class JobGrain
{
    /// <summary>The policy's start and the frozen reference must both be committed checkpoints, each refused naming its field.</summary>
    private async Task RequireGrpoCheckpointsAsync(GrpoSpec grpo)
    {
        await RequireCommittedAsync(grpo.FromCheckpoint, "grpo.from_checkpoint");
        if (grpo.Reference != grpo.FromCheckpoint) await RequireCommittedAsync(grpo.Reference, "grpo.reference");
    }

    /// <summary>
    /// A grpo step's series: <c>grpo_reward</c> (accuracy + format), <c>grpo_accuracy</c>, <c>grpo_format</c>,
    /// <c>grpo_length</c> (mean response tokens), <c>grpo_kl</c>, <c>grpo_clip</c>, <c>generation_tokens_per_s</c> and, when the
    /// rollouts speculate, <c>mtp_acceptance</c>; none for other kinds.
    /// </summary>
    private static IEnumerable<MetricSample> GrpoSamples(StepMetrics metrics, DateTimeOffset at)
    {
        if (metrics.Grpo is not { } grpo) yield break;
        yield return new MetricSample(metrics.Step, "grpo_reward", grpo.Accuracy + grpo.Format, at);
        yield return new MetricSample(metrics.Step, "grpo_accuracy", grpo.Accuracy, at);
        yield return new MetricSample(metrics.Step, "grpo_format", grpo.Format, at);
        yield return new MetricSample(metrics.Step, "grpo_length", grpo.CompletionTokens, at);
        yield return new MetricSample(metrics.Step, "grpo_kl", grpo.Kl, at);
        yield return new MetricSample(metrics.Step, "grpo_clip", grpo.ClipFraction, at);
        yield return new MetricSample(metrics.Step, "generation_tokens_per_s", grpo.GenerationTokensPerSecond, at);
        if (grpo.MtpAcceptance is { } accepted) yield return new MetricSample(metrics.Step, "mtp_acceptance", accepted, at);
    }

    /// <summary>The step's sampled completions as a <c>grpo-samples</c> event: <c>{step, samples: [{prompt, completion, accuracy, format}]}</c>.</summary>
    private Task StoreGrpoCompletionsAsync(StepMetrics metrics)
    {
        if (metrics.Grpo is not { Samples.Count: > 0 } grpo) return Task.CompletedTask;
        return jobStore.AppendJobEventAsync(Id, JobEvents.GrpoSamples, JobEvents.Detail(new
        {
            step = metrics.Step,
            samples = grpo.Samples.Select(s => new { prompt = s.Prompt, completion = s.Completion, accuracy = s.Accuracy, format = s.Format }),
        }));
    }
}
