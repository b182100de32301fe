using static TorchSharp.torch;

namespace Orchestrator.Kernels.Gpu;

/// <summary>
/// A GEMM operand quantised on the GPU: E4M3 codes [PaddedRows, PaddedLength] (uint8, reduction
/// dimension last, zero-padded to a multiple of 128; tile operands also get zero rows up to a multiple
/// of <see cref="Fp8Gpu.TileRowPad"/>) and float32 scales in the layout the GEMM reads.
/// </summary>
public sealed class GpuFp8Operand(Tensor codes, Tensor scales, Fp8Grouping grouping, long rows, long reductionLength, int scaleLayout, long scaleStride) : IDisposable
{
    /// <summary>Codes, [<see cref="PaddedRows"/>, <see cref="PaddedLength"/>] uint8.</summary>
    public Tensor Codes { get; } = codes;

    /// <summary>Scales, one per tile or block, flat, in <see cref="ScaleLayout"/> with <see cref="ScaleStride"/>.</summary>
    public Tensor Scales { get; } = scales;

    /// <summary>Tile (1×128) or block (128×128) scaling.</summary>
    public Fp8Grouping Grouping { get; } = grouping;

    /// <summary>Rows of the quantised matrix (the GEMM's M or N) before padding.</summary>
    public long Rows { get; } = rows;

    /// <summary>Rows of <see cref="Codes"/> (padded rows hold zero codes and scale 1).</summary>
    public long PaddedRows => Codes.shape[0];

    /// <summary>The reduction length before padding.</summary>
    public long ReductionLength { get; } = reductionLength;

    /// <summary>The reduction length padded to a multiple of 128 (the codes' row stride).</summary>
    public long PaddedLength => Codes.shape[1];

    /// <summary>0: scales row-major [row group][k block]; 1: column-major [k block][row group].</summary>
    public int ScaleLayout { get; } = scaleLayout;

    /// <summary>Stride of the scale matrix's outer dimension (its inner extent, or more where padded).</summary>
    public long ScaleStride { get; } = scaleStride;

    /// <summary>Row groups that carry a scale: padded rows for tiles, 128-row blocks for blocks.</summary>
    public long ScaleGroups => Grouping == Fp8Grouping.Tile ? PaddedRows : (Rows + 127) / 128;

    /// <summary>Flat index of the scale of (row group, k block).</summary>
    public long ScaleIndex(long rowGroup, long kBlock) =>
        ScaleLayout == 0 ? (rowGroup * ScaleStride) + kBlock : (kBlock * ScaleStride) + rowGroup;

    /// <summary>Releases codes and scales.</summary>
    public void Dispose()
    {
        Codes.Dispose();
        Scales.Dispose();
    }
}
