namespace Orchestrator.Kernels.Native;

/// <summary>The operations the model and trainer can take through the ATen bridge.</summary>
[Flags]
public enum AtenOperations
{
    /// <summary>None: the bridge is loaded but nothing uses it.</summary>
    None = 0,

    /// <summary>Routed experts by grouped_mm over device offsets (<c>GroupedMmExperts</c>).</summary>
    GroupedMm = 1,

    /// <summary>The optimizer step by ATen's fused AdamW.</summary>
    FusedAdamW = 2,

    /// <summary>RMSNorm by <c>at::rms_norm</c>.</summary>
    RmsNorm = 4,

    /// <summary>Every operation.</summary>
    All = GroupedMm | FusedAdamW | RmsNorm,
}
