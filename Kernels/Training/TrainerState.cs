using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Training;

/// <summary>The scalar part of a checkpoint: where the run stands and what produced it.</summary>
public sealed record TrainerState
{
    [JsonPropertyName("format")] public int Format { get; init; } = 1;
    /// <summary>Optimizer steps completed; the next step to run has this 0-based index.</summary>
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("optimizer_updates")] public long OptimizerUpdates { get; init; }
    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }
    /// <summary>The data position: the (step, micro-step) the loader serves next.</summary>
    [JsonPropertyName("data_step")] public long DataStep { get; init; }
    /// <summary>The run config (model and training) as JSON, so that a resume can refuse a different one.</summary>
    [JsonPropertyName("config")] public string Config { get; init; } = "";
    /// <summary>
    /// The whole random state. Randomness here is counter-based: weights from (seed, parameter
    /// name), data from (seed, step, micro-step, rank); no stateful generator is consumed while
    /// training, so (seed, step) is the RNG state.
    /// </summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }
    /// <summary>The expert map the run routed by at this step; absent for the formula placement (and in states from before maps).</summary>
    [JsonPropertyName("expert_map"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ExpertMapState? ExpertMap { get; init; }
}
