namespace Orchestrator.Grains;

/// <summary>A grpo step's rollouts and update over every rank of the job (rank 0's report; <see cref="StepMetrics.Grpo"/>).</summary>
/// <param name="Accuracy">Mean accuracy reward of the rollouts.</param>
/// <param name="Format">Mean format reward.</param>
/// <param name="CompletionTokens">Mean response length, tokens.</param>
/// <param name="Kl">Mean k3 KL to the reference over completion tokens (the step's last pass).</param>
/// <param name="ClipFraction">Share of completion tokens whose ratio was clipped (the last pass).</param>
/// <param name="GenerationTokensPerSecond">The job's rollout tokens per second of generation.</param>
/// <param name="MtpAcceptance">MTP drafts accepted ÷ drafted when the rollouts speculate, else null.</param>
/// <param name="Samples">A few sampled completions with their rewards (rank 0's first of each of its groups).</param>
[GenerateSerializer, Immutable]
public sealed record GrpoStepMetrics(
    [property: Id(0)] double Accuracy,
    [property: Id(1)] double Format,
    [property: Id(2)] double CompletionTokens,
    [property: Id(3)] double Kl,
    [property: Id(4)] double ClipFraction,
    [property: Id(5)] double GenerationTokensPerSecond,
    [property: Id(6)] double? MtpAcceptance,
    [property: Id(7)] IReadOnlyList<GrpoSampleView> Samples);

/// <summary>One sampled completion of a grpo step and its reward.</summary>
/// <param name="Prompt">The prompt's line in the prompt set, from 0.</param>
/// <param name="Completion">The completion's text.</param>
/// <param name="Accuracy">Its accuracy reward.</param>
/// <param name="Format">Its format reward.</param>
[GenerateSerializer, Immutable]
public sealed record GrpoSampleView(
    [property: Id(0)] int Prompt,
    [property: Id(1)] string Completion,
    [property: Id(2)] double Accuracy,
    [property: Id(3)] double Format);
