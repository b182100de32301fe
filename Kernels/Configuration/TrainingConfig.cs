using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Configuration;

/// <summary>How a model is trained: batch, optimiser, schedule, balancing and seeds.</summary>
public sealed record TrainingConfig
{
    [JsonPropertyName("seed")] public ulong Seed { get; init; } = 1234;
    [JsonPropertyName("seq_len")] public int SequenceLength { get; init; } = 128;
    /// <summary>Sequences per micro-batch on one data-parallel rank.</summary>
    [JsonPropertyName("micro_batch_size")] public int MicroBatchSize { get; init; } = 8;
    [JsonPropertyName("gradient_accumulation")] public int GradientAccumulation { get; init; } = 1;

    [JsonPropertyName("lr")] public double LearningRate { get; init; } = 1e-3;
    [JsonPropertyName("min_lr")] public double MinLearningRate { get; init; } = 1e-4;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 20;
    /// <summary>Steps over which the cosine decays to <see cref="MinLearningRate"/>; 0 uses the run's step count.</summary>
    [JsonPropertyName("decay_steps")] public int DecaySteps { get; init; }
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.1;
    [JsonPropertyName("beta1")] public double Beta1 { get; init; } = 0.9;
    [JsonPropertyName("beta2")] public double Beta2 { get; init; } = 0.95;
    [JsonPropertyName("eps")] public double Epsilon { get; init; } = 1e-8;
    [JsonPropertyName("grad_clip")] public double GradientClip { get; init; } = 1.0;

    /// <summary>Bias update speed γ of auxiliary-loss-free balancing until <see cref="BiasUpdateFreezeStep"/>.</summary>
    [JsonPropertyName("bias_update_speed")] public double BiasUpdateSpeed { get; init; } = 0.001;
    /// <summary>From this step on γ = 0 (V3 stops updating for its last 500B tokens); 0 never freezes.</summary>
    [JsonPropertyName("bias_update_freeze_step")] public long BiasUpdateFreezeStep { get; init; }
    /// <summary>
    /// γ for the first <see cref="BiasUpdateEarlySteps"/> steps (0 = no early phase): a larger γ undoes the routing
    /// collapse of a fresh model fast; <see cref="BiasUpdateSpeed"/> then holds the balance with less oscillation.
    /// </summary>
    [JsonPropertyName("bias_update_speed_early")] public double BiasUpdateSpeedEarly { get; init; }
    /// <summary>Steps (from step 0) that use <see cref="BiasUpdateSpeedEarly"/>; 0 means none.</summary>
    [JsonPropertyName("bias_update_early_steps")] public long BiasUpdateEarlySteps { get; init; }

    /// <summary>
    /// Threads libtorch may use (process-wide; applied by the command that runs training). Fixed so
    /// that results are reproducible. Keep it at or below the cores the process really has: OpenMP
    /// threads spin at barriers, and on a busy machine 2 threads ran 2.5–25× slower than 1.
    /// </summary>
    [JsonPropertyName("threads")] public int Threads { get; init; } = 2;
}
