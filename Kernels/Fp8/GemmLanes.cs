using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>Sixteen output columns of one GEMM row as four double vectors: the kernel's register tile.</summary>
internal struct GemmLanes
{
    public Vector256<double> V0;
    public Vector256<double> V1;
    public Vector256<double> V2;
    public Vector256<double> V3;

    public GemmLanes(Vector256<double> v0, Vector256<double> v1, Vector256<double> v2, Vector256<double> v3)
    {
        V0 = v0;
        V1 = v1;
        V2 = v2;
        V3 = v3;
    }

    /// <summary>this = fp32(this + fp32(partial · scale)): a promotion into the FP32 accumulator.</summary>
    public void AddScaled(in GemmLanes partial, in GemmLanes scale, AccumulatorRounder fp32)
    {
        V0 = fp32.Apply(V0 + fp32.Apply(partial.V0 * scale.V0));
        V1 = fp32.Apply(V1 + fp32.Apply(partial.V1 * scale.V1));
        V2 = fp32.Apply(V2 + fp32.Apply(partial.V2 * scale.V2));
        V3 = fp32.Apply(V3 + fp32.Apply(partial.V3 * scale.V3));
    }

    public readonly void CopyTo(Span<double> destination)
    {
        V0.CopyTo(destination);
        V1.CopyTo(destination[4..]);
        V2.CopyTo(destination[8..]);
        V3.CopyTo(destination[12..]);
    }
}
