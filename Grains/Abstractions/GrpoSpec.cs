namespace Orchestrator.Grains;

/// <summary>The spec's <c>grpo</c> section (the prompts are the job's <c>data</c>, prompt/answer JSONL).</summary>
/// <param name="FromCheckpoint">The policy's starting checkpoint (normally an sft job's).</param>
/// <param name="Reference">The frozen reference policy for the KL penalty; the starting checkpoint when not given.</param>
/// <param name="GroupSize">Completions sampled per prompt (G, default 8).</param>
/// <param name="KlCoefficient">β of the k3 KL penalty (default 0.04).</param>
/// <param name="Clip">ε of the clipped ratio (default 0.2).</param>
/// <param name="Passes">Optimisation passes over each batch of rollouts (default 1).</param>
/// <param name="Tokenizer">The tokenizer of the prompts (default <c>bytes</c>).</param>
[GenerateSerializer, Immutable]
public sealed record GrpoSpec(
    [property: Id(0)] CheckpointSource FromCheckpoint,
    [property: Id(1)] CheckpointSource Reference,
    [property: Id(2)] int GroupSize,
    [property: Id(3)] double KlCoefficient,
    [property: Id(4)] double Clip,
    [property: Id(5)] int Passes,
    [property: Id(6)] string Tokenizer)
{
    /// <summary>New tokens per rollout at most (<c>max_new_tokens</c>, default 64); a prompt and its rollout fit model.max_seq_len.</summary>
    [Id(7)]
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Sampling temperature of the rollouts (<c>temperature</c>, default 1, above 0).</summary>
    [Id(8)]
    public double Temperature { get; init; } = 1.0;
}
