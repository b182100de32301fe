using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Benchmarks.Training;

/// <summary>One model shape the throughput benchmark trains.</summary>
internal sealed record ThroughputCase(string Name, string Size, ModelConfig Model)
{
    /// <summary>
    /// The shipped tiny config and a larger variant (dim 256, dense FFN 768, expert FFN 128,
    /// 4 layers: twice the width and one more MoE layer, same routing), each with MTP depth 1 and 0.
    /// </summary>
    public static IReadOnlyList<ThroughputCase> Standard(ModelConfig tiny)
    {
        var larger = tiny with { Dim = 256, InterDim = 768, MoeInterDim = 128, Layers = 4 };
        var problems = ConfigValidator.Validate(larger);
        if (problems.Count > 0) throw new ConfigException("larger variant", problems);
        return
        [
            new("tiny", "tiny", tiny with { MtpDepth = 0 }),
            new("tiny+mtp", "tiny", tiny with { MtpDepth = 1 }),
            new("larger", "larger", larger with { MtpDepth = 0 }),
            new("larger+mtp", "larger", larger with { MtpDepth = 1 }),
        ];
    }
}
