using Orchestrator.Kernels.Configuration;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// What a sharded checkpoint reads from and restores into a trainer: its named tensors (the whole model's names, so
/// shards written by one layout can be read by another), its optimizer moments, its counters and its config. Both the
/// single-process <see cref="Trainer"/> and a pipeline rank (<see cref="Pipeline.PipelineTrainer"/>) are one.
/// </summary>
public interface IShardedTrainer
{
    /// <summary>Optimizer steps completed.</summary>
    long Step { get; }

    /// <summary>Tokens trained on so far.</summary>
    long TokensSeen { get; }

    /// <summary>The model and training configuration.</summary>
    RunConfig Run { get; }

    /// <summary>The AdamW whose moments the checkpoint holds by parameter name.</summary>
    AdamW Optimizer { get; }

    /// <summary>The trainer's parameters and buffers, each once, by name.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> NamedTensors();

    /// <summary>Restores the counters after the tensors were loaded.</summary>
    void Restore(TrainerState state);
}
