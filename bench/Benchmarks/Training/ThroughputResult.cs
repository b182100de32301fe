using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Benchmarks.Training;

/// <summary>The shape that matters for cost, the parameter counts, and tokens/s over the measured steps.</summary>
internal sealed record ThroughputResult(string Name, ThroughputShape Shape, ParameterCount Parameters, Stats TokensPerSecond)
{
    public static ThroughputResult From(ThroughputCase c, Stats tokensPerSecond) =>
        new(c.Name, ThroughputShape.Of(c.Model), ParameterCount.For(c.Model), tokensPerSecond);
}

internal sealed record ThroughputShape(int Dim, int InterDim, int MoeInterDim, int Layers, int DenseLayers, int Heads,
    int RoutedExperts, int SharedExperts, int ActivatedExperts, int ExpertGroups, int LimitedGroups, int MtpDepth, int VocabSize)
{
    public static ThroughputShape Of(ModelConfig m) => new(m.Dim, m.InterDim, m.MoeInterDim, m.Layers, m.DenseLayers, m.Heads,
        m.RoutedExperts, m.SharedExperts, m.ActivatedExperts, m.ExpertGroups, m.LimitedGroups, m.MtpDepth, m.VocabSize);
}

/// <summary>Ratios of median tokens/s; above 1 means the first configuration is that many times faster.</summary>
internal sealed record ThroughputRatios(double MtpCostTiny, double MtpCostLarger, double SizeCostNoMtp, double SizeCostMtp)
{
    public static ThroughputRatios From(IReadOnlyList<ThroughputResult> r)
    {
        double Median(string name) => r.Single(x => x.Name == name).TokensPerSecond.Median;
        return new(
            Median("tiny") / Median("tiny+mtp"),
            Median("larger") / Median("larger+mtp"),
            Median("tiny") / Median("larger"),
            Median("tiny+mtp") / Median("larger+mtp"));
    }
}
