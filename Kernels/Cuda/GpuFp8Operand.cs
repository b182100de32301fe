using static TorchSharp.torch;

namespace Orchestrator.Kernels.Cuda;

/// <summary>
/// A GEMM operand quantised on the GPU: E4M3 codes [Rows, PaddedLength] (uint8, reduction dimension
/// last, zero-padded to a multiple of 128) and float32 scales in the layout the GEMM reads.
/// </summary>
public sealed class GpuFp8Operand(Tensor codes, Tensor scales, Fp8Grouping grouping, long rows, long reductionLength, int scaleLayout) : IDisposable
{
    /// <summary>Codes, [<see cref="Rows"/>, <see cref="PaddedLength"/>] uint8.</summary>
    public Tensor Codes { get; } = codes;

    /// <summary>Scales, one per tile or block, flat, in <see cref="ScaleLayout"/>.</summary>
    public Tensor Scales { get; } = scales;

    /// <summary>Tile (1×128) or block (128×128) scaling.</summary>
    public Fp8Grouping Grouping { get; } = grouping;

    /// <summary>Rows of the quantised matrix (the GEMM's M or N).</summary>
    public long Rows { get; } = rows;

    /// <summary>The reduction length before padding.</summary>
    public long ReductionLength { get; } = reductionLength;

    /// <summary>The reduction length padded to a multiple of 128 (the codes' row stride).</summary>
    public long PaddedLength => Codes.shape[1];

    /// <summary>0: scales row-major [row group][k block]; 1: column-major [k block][row group].</summary>
    public int ScaleLayout { get; } = scaleLayout;

    /// <summary>Scale at (row group, k block), read back to the host (tests and checks only).</summary>
    public float ScaleAt(long rowGroup, long kBlock)
    {
        var kBlocks = PaddedLength / 128;
        var groups = Grouping == Fp8Grouping.Tile ? Rows : (Rows + 127) / 128;
        var index = ScaleLayout == 0 ? (rowGroup * kBlocks) + kBlock : (kBlock * groups) + rowGroup;
        using var value = Scales[index];
        return value.item<float>();
    }

    /// <summary>Releases codes and scales.</summary>
    public void Dispose()
    {
        Codes.Dispose();
        Scales.Dispose();
    }
}
