using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>What a pipeline message carries across a stage boundary.</summary>
public enum StageMessageKind
{
    /// <summary>A virtual stage's output activation, going forward.</summary>
    Activation,

    /// <summary>The gradient of a virtual stage's input, going backward.</summary>
    Gradient,
}

/// <summary>
/// Names one pipeline message: its kind, micro-batch, and the boundary it crosses (the lower virtual stage of the two).
/// A send and the receive that meets it name the same key.
/// </summary>
public readonly record struct StageMessageKey(StageMessageKind Kind, int MicroBatch, int Boundary)
{
    /// <inheritdoc />
    public override string ToString() => $"{Kind} of micro-batch {MicroBatch} across boundary {Boundary}";
}

/// <summary>
/// Point-to-point tensor transfer between the ranks of a pipeline (activations forward, input gradients backward).
/// A send never waits for its receive; a receive blocks until the matching message arrives, so, like
/// <see cref="ICollective"/>, a link is used from a rank's device thread only.
/// </summary>
public interface IStageLink
{
    /// <summary>This rank's index among the pipeline's ranks.</summary>
    int Rank { get; }

    /// <summary>Ranks of the pipeline.</summary>
    int WorldSize { get; }

    /// <summary>Sends a copy of <paramref name="tensor"/> (detached from this rank's graph) to <paramref name="peer"/>.</summary>
    void Send(int peer, StageMessageKey key, Tensor tensor);

    /// <summary>The tensor <paramref name="peer"/> sent under <paramref name="key"/>, on <paramref name="device"/>.</summary>
    /// <exception cref="CollectiveAbortedException">The pipeline was aborted while waiting.</exception>
    Tensor Receive(int peer, StageMessageKey key, Device device);

    /// <summary>Breaks the pipeline after this rank failed: every rank waiting in, or later entering, a receive gets a <see cref="CollectiveAbortedException"/>.</summary>
    void Abort(string reason);
}
