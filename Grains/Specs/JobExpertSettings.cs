using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Grains.Jobs;

/// <summary>A job's expert re-placement settings, from its spec (<c>balancing</c>, <c>parallel.redundant_experts</c>) and model.</summary>
public static class JobExpertSettings
{
    /// <summary>The settings (off when the spec has no <c>balancing</c>; the redundant slots still count).</summary>
    public static ReplacementSettings Of(JobSpec spec, ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        var b = spec.Balancing;
        return new ReplacementSettings(b?.Every ?? 0, b?.Imbalance ?? 0, b?.Window ?? 1, spec.Layout.RedundantExperts, model.ExpertGroups, b?.Nodes ?? 1);
    }
}
