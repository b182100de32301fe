namespace Orchestrator.Grains;

/// <summary>
/// The spec's <c>distill</c> section. The student is the job's own <c>model</c>/<c>config</c>; the prompts are the job's
/// <c>data</c> (prompt/answer JSONL), answered by the teacher on the job's ranks (the teacher data set), on which the
/// student is then fine-tuned.
/// </summary>
/// <param name="Teacher">The teacher's committed checkpoint.</param>
/// <param name="Temperature">τ of the optional logit distillation (default 1).</param>
/// <param name="LogitWeight">Weight of the τ²-scaled logit KL; 0 (the default) is SFT on the teacher's text only.</param>
/// <param name="Tokenizer">The tokenizer of the prompts (default <c>bytes</c>).</param>
[GenerateSerializer, Immutable]
public sealed record DistillSpec(
    [property: Id(0)] CheckpointSource Teacher,
    [property: Id(1)] double Temperature,
    [property: Id(2)] double LogitWeight,
    [property: Id(3)] string Tokenizer)
{
    /// <summary>New tokens the teacher writes per prompt at most (<c>max_tokens</c>, default 64; a row's room caps it too).</summary>
    [Id(4)]
    public int MaxTokens { get; init; } = 64;

    /// <summary>The teacher's sampling temperature (<c>sample_temperature</c>); 0, the default, is greedy decoding.</summary>
    [Id(5)]
    public double SampleTemperature { get; init; }

    /// <summary>The teacher's nucleus (<c>top_p</c>, in (0, 1], default 1).</summary>
    [Id(6)]
    public double TopP { get; init; } = 1.0;
}
