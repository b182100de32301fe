using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>Cross-entropy counted only where a mask is 1: the sum over those tokens and their number.</summary>
public static class MaskedLoss
{
    /// <summary>
    /// Σ over masked-in tokens of −log softmax(logits)[target], for logits [.., V], targets and mask [..] (mask 0/1,
    /// any float dtype); the tokens masked out contribute nothing, their logits get an exactly zero gradient.
    /// </summary>
    public static (Tensor Sum, long Count) CrossEntropySum(Tensor logits, Tensor targets, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var flatLogits = logits.reshape(-1, logits.shape[^1]);
        var perToken = nn.functional.cross_entropy(flatLogits, targets.reshape(-1), reduction: nn.Reduction.None);
        var weights = mask.reshape(-1).to(perToken.dtype);
        var count = weights.sum().to(ScalarType.Float64).item<double>();
        var sum = perToken.mul(weights).sum();
        return (sum.MoveToOuterDisposeScope(), (long)Math.Round(count));
    }

    /// <summary>The mean over masked-in tokens (0 with a zero gradient when there are none).</summary>
    public static Tensor CrossEntropyMean(Tensor logits, Tensor targets, Tensor mask)
    {
        var (sum, count) = CrossEntropySum(logits, targets, mask);
        using var tokens = ((double)Math.Max(count, 1)).ToScalar(); // per-batch value: not cached (see Scalars)
        using (sum) return sum.div(tokens);
    }
}
