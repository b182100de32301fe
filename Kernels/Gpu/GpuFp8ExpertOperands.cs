using static TorchSharp.torch;

namespace Orchestrator.Kernels.Gpu;

/// <summary>
/// One quantised matrix [E·rows, k] holding <see cref="Experts"/> equal slices of <see cref="RowsPerExpert"/>
/// rows (quantised in one launch by <see cref="Fp8Gpu.QuantizeExperts"/>), and each slice as an operand
/// of its own: its codes are a view (a pointer offset), its scales a view of a per-expert scale array.
/// A column-major scale array ([k block][row]) of the whole matrix does not hold an expert's scales
/// contiguously, so it is rearranged once into [expert][k block][row] (padded as a standalone operand
/// would be); a row-major one ([row group][k block]) already does. Each slice is then laid out exactly
/// as <see cref="Fp8Gpu.Quantize"/> would lay out that expert's matrix on its own.
/// </summary>
public sealed class GpuFp8ExpertOperands : IDisposable
{
    private readonly GpuFp8Operand _whole;
    private readonly Tensor _scales;
    private readonly long _scaleStride;
    private readonly long _scalesPerExpert;
    private readonly int _layout;

    /// <summary>
    /// Splits <paramref name="whole"/> (taking ownership) into <paramref name="experts"/> slices of equal rows
    /// (for blocks a multiple of 128 each; tiles need no padding rows beyond the slices).
    /// </summary>
    public static GpuFp8ExpertOperands Split(GpuFp8Operand whole, long experts)
    {
        ArgumentNullException.ThrowIfNull(whole);
        var rows = experts > 0 ? whole.Rows / experts : 0;
        if (experts <= 0 || whole.Rows % experts != 0 || whole.PaddedRows != whole.Rows)
            throw new ArgumentException($"fp8 experts: {whole.Rows} rows ({whole.PaddedRows} padded) do not split into {experts} equal unpadded slices", nameof(experts));
        if (whole.Grouping == Fp8Grouping.Block && rows % Fp8Gpu.Group != 0)
            throw new ArgumentException($"fp8 experts: {rows} rows per expert is not a multiple of {Fp8Gpu.Group} (128x128 blocks would straddle experts)", nameof(experts));
        return new GpuFp8ExpertOperands(whole, experts, rows);
    }

    private GpuFp8ExpertOperands(GpuFp8Operand whole, long experts, long rowsPerExpert)
    {
        _whole = whole;
        Experts = experts;
        RowsPerExpert = rowsPerExpert;
        var kBlocks = whole.PaddedLength / Fp8Gpu.Group;
        var tile = whole.Grouping == Fp8Grouping.Tile;
        var groups = tile ? rowsPerExpert : rowsPerExpert / Fp8Gpu.Group; // row groups per expert
        _layout = whole.ScaleLayout;
        if (_layout == 0)
        {
            // Row-major: expert e's row groups are rows [e·groups, (e+1)·groups) of the scale matrix.
            _scales = whole.Scales.alias();
            _scaleStride = whole.ScaleStride;
            _scalesPerExpert = groups * whole.ScaleStride;
        }
        else
        {
            var pad = tile ? 1 : Fp8Gpu.BlockScalePad;
            var stride = (groups + pad - 1) / pad * pad;
            using var all = whole.Scales.view(kBlocks, whole.ScaleStride).narrow(1, 0, experts * groups).view(kBlocks, experts, groups).permute(1, 0, 2);
            _scales = ones([experts, kBlocks, stride], ScalarType.Float32, device: whole.Scales.device);
            using (var target = _scales.narrow(2, 0, groups)) target.copy_(all);
            _scaleStride = stride;
            _scalesPerExpert = kBlocks * stride;
        }
    }

    /// <summary>Number of slices.</summary>
    public long Experts { get; }

    /// <summary>Rows of each slice.</summary>
    public long RowsPerExpert { get; }

    /// <summary>Slice <paramref name="expert"/> as an operand (views: dispose it, the storage stays with this object).</summary>
    public GpuFp8Operand Expert(long expert)
    {
        if (expert < 0 || expert >= Experts) throw new ArgumentOutOfRangeException(nameof(expert), expert, $"fp8 experts: there are {Experts}");
        var codes = _whole.Codes.narrow(0, expert * RowsPerExpert, RowsPerExpert);
        var scales = _scales.view(-1).narrow(0, expert * _scalesPerExpert, _scalesPerExpert);
        return new GpuFp8Operand(codes, scales, _whole.Grouping, RowsPerExpert, _whole.ReductionLength, _layout, _scaleStride);
    }

    /// <summary>Releases the codes and scales.</summary>
    public void Dispose()
    {
        _scales.Dispose();
        _whole.Dispose();
    }
}
