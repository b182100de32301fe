using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Kernels.Training.Rl;

/// <summary>How a GRPO run samples, scores and optimises (the spec's <c>grpo</c> section and the defaults of verl and TRL).</summary>
public sealed record GrpoOptions
{
    /// <summary>G: completions sampled per prompt.</summary>
    public int GroupSize { get; init; } = 8;

    /// <summary>Prompts per step (each one group).</summary>
    public int PromptsPerStep { get; init; } = 4;

    /// <summary>Optimisation passes over each step's rollouts (the ratio moves from 1 after the first).</summary>
    public int Passes { get; init; } = 1;

    /// <summary>New tokens per completion at most.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Sampling temperature of the rollouts.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling of the rollouts.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Texts that end a rollout (kept in its text and tokens: they were sampled).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Learning rate (constant over the run).</summary>
    public double LearningRate { get; init; } = 1e-5;

    /// <summary>Clip ε, KL β, advantage ε.</summary>
    public GrpoSettings Loss { get; init; } = new();

    /// <summary>Seed of the prompt order and of the sampling.</summary>
    public ulong Seed { get; init; }

    /// <summary>The problems of these options, each naming its field; empty when usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (GroupSize < 2) problems.Add($"group_size: a group needs at least 2 completions (got {GroupSize})");
        if (PromptsPerStep < 1) problems.Add($"prompts_per_step: must be at least 1 (got {PromptsPerStep})");
        if (Passes < 1) problems.Add($"passes: must be at least 1 (got {Passes})");
        if (MaxNewTokens < 1) problems.Add($"max_new_tokens: must be at least 1 (got {MaxNewTokens})");
        if (!(Temperature > 0) || !double.IsFinite(Temperature)) problems.Add($"temperature: rollouts are sampled, so it must be above 0 (got {Temperature})");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) problems.Add($"lr: must be above 0 (got {LearningRate})");
        if (!(Loss.Clip > 0 && Loss.Clip < 1)) problems.Add($"clip: must be in (0, 1) (got {Loss.Clip})");
        if (!(Loss.KlCoefficient >= 0) || !double.IsFinite(Loss.KlCoefficient)) problems.Add($"kl_coef: must be 0 or more (got {Loss.KlCoefficient})");
        return problems;
    }
}
