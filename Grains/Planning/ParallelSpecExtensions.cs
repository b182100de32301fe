using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains;

/// <summary>Where the layout a message carries becomes the layout the arithmetic is done on.</summary>
public static class ParallelSpecExtensions
{
    /// <summary>The layout of <paramref name="spec"/>; its constructor refuses impossible values, naming the field.</summary>
    public static ParallelLayout ToLayout(this ParallelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ParallelLayout(spec.Ep, spec.Dp, spec.Stages, spec.VirtualStages);
    }
}
