using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Gpu;

/// <summary>
/// DeepSeek-V3's FP8 GEMM on the GPU, on TorchSharp CUDA tensors in place: tile/block E4M3
/// quantisation (optionally of the transpose) and the block-scaled GEMM through cuBLASLt, both on the
/// default stream libtorch uses. Arguments are checked here, before any native call, with messages
/// naming what is wrong.
/// </summary>
public static class Fp8Gpu
{
    /// <summary>Values per scaling group along the reduction dimension.</summary>
    public const int Group = 128;

    /// <summary>
    /// Scale layout written for tiles (0 row-major, 1 column-major): cuBLASLt's VEC128 mode reads
    /// column-major, [k block][row] (found on the H200, CUDA 13.0; bench/gpu/run.sh checks it).
    /// </summary>
    public static int TileScaleLayout { get; set; } = 1;

    /// <summary>Tile operands get zero rows up to a multiple of this (cuBLASLt finds no VEC128 kernel for other row counts).</summary>
    public static int TileRowPad { get; set; } = 16;

    /// <summary>
    /// Scale layout written for blocks: cuBLASLt's BLK128x128 mode reads row-major, [row block][k block],
    /// with the row stride padded to a multiple of 4 (<see cref="BlockScalePad"/>; found on the H200).
    /// </summary>
    public static int BlockScaleLayout { get; set; }

    /// <summary>The block scales' outer stride is padded to a multiple of this (1: none).</summary>
    public static int BlockScalePad { get; set; } = 4;

    /// <summary>Hand cuBLASLt the operands the other way round (it then computes Dᵀ, transposed back here).</summary>
    public static bool SwapOperands { get; set; }

    /// <summary>
    /// Output type of the FP8 projection GEMMs in training: float32 where cuBLASLt offers it with block
    /// scaling, else bfloat16 (then widened to float32).
    /// </summary>
    public static ScalarType ProjectionOutput { get; set; } = ScalarType.Float32;

    /// <summary>Environment variable overriding the settings: e.g. <c>tile=1,block=1,out=float32</c>.</summary>
    public const string EnvironmentVariable = "ORCHESTRATOR_FP8_GPU";

    /// <summary>
    /// Applies settings written as <c>tile=0|1,block=0|1,out=float32|bfloat16</c> (any subset, any
    /// order); null or empty changes nothing.
    /// </summary>
    public static void Configure(string? settings)
    {
        if (string.IsNullOrWhiteSpace(settings)) return;
        foreach (var part in settings.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2);
            var value = pair.Length == 2 ? pair[1] : "";
            switch (pair[0])
            {
                case "tile" when value is "0" or "1": TileScaleLayout = value[0] - '0'; break;
                case "block" when value is "0" or "1": BlockScaleLayout = value[0] - '0'; break;
                case "blockpad" when value is "1" or "4": BlockScalePad = value[0] - '0'; break;
                case "swap" when value is "0" or "1": SwapOperands = value == "1"; break;
                case "enabled" when value is "0" or "1": Enabled = value == "1"; break;
                case "grouped" when value is "0" or "1": GroupedExperts = value == "1"; break;
                case "out" when value is "float32": ProjectionOutput = ScalarType.Float32; break;
                case "out" when value is "bfloat16": ProjectionOutput = ScalarType.BFloat16; break;
                default:
                    throw new ArgumentException($"{EnvironmentVariable}: '{part}' is not tile=0|1, block=0|1, blockpad=1|4, swap=0|1, enabled=0|1, grouped=0|1 or out=float32|bfloat16");
            }
        }
    }

    /// <summary>The current settings in <see cref="Configure"/>'s syntax.</summary>
    public static string Settings =>
        $"tile={TileScaleLayout},block={BlockScaleLayout},blockpad={BlockScalePad},swap={(SwapOperands ? 1 : 0)},enabled={(Enabled ? 1 : 0)},grouped={(GroupedExperts ? 1 : 0)},out={(ProjectionOutput == ScalarType.Float32 ? "float32" : "bfloat16")}";

    /// <summary>False turns the GPU path off (the projection then emulates FP8), e.g. where its checks failed.</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>
    /// False keeps grouped routed experts' FP8 products per expert (<c>GpuFp8Projection</c> on each
    /// expert's slice) instead of quantising all experts at once and slicing, e.g. where that check failed.
    /// </summary>
    public static bool GroupedExperts { get; set; } = true;

    /// <summary>True when the library is loaded and the FP8 GPU path is enabled.</summary>
    public static bool Available => Enabled && CudaKernels.IsLoaded;

    /// <summary>
    /// Quantises <paramref name="matrix"/> (2-D, float32 or bfloat16, contiguous, on CUDA), or its
    /// transpose when <paramref name="transpose"/> is set, grouping along the result's last dimension.
    /// </summary>
    public static GpuFp8Operand Quantize(Tensor matrix, Fp8Grouping grouping, bool transpose = false)
    {
        CheckQuantizeArguments(matrix, grouping, transpose);
        long rows = matrix.shape[0], columns = matrix.shape[1];
        var (outRows, reduction) = transpose ? (columns, rows) : (rows, columns);
        var padded = Pad(reduction);
        var kBlocks = padded / Group;
        var tile = grouping == Fp8Grouping.Tile;
        var paddedRows = tile ? (outRows + TileRowPad - 1) / TileRowPad * TileRowPad : outRows;
        var groups = tile ? paddedRows : (outRows + Group - 1) / Group;
        var layout = tile ? TileScaleLayout : BlockScaleLayout;
        var pad = tile ? 1 : BlockScalePad;
        var stride = layout == 0 ? (kBlocks + pad - 1) / pad * pad : (groups + pad - 1) / pad * pad;
        var outer = layout == 0 ? groups : kBlocks;
        var codes = empty([paddedRows, padded], ScalarType.Byte, device: matrix.device);
        if (paddedRows > outRows)
        {
            using var extra = codes.narrow(0, outRows, paddedRows - outRows);
            extra.zero_();
        }
        var scales = ones([outer * stride], ScalarType.Float32, device: matrix.device);
        unsafe
        {
            var code = CudaKernels.Native.Quantize(TensorPointer.Of(matrix), matrix.dtype == ScalarType.Float32 ? 0 : 1, rows, columns,
                (int)grouping, transpose ? 1 : 0, TensorPointer.Of(codes), TensorPointer.Of(scales), layout, stride, IntPtr.Zero);
            if (code != 0)
            {
                codes.Dispose();
                scales.Dispose();
                CudaKernels.Check(code, "fp8 quantise");
            }
        }
        return new GpuFp8Operand(codes, scales, grouping, outRows, reduction, layout, stride);
    }

    /// <summary>
    /// Quantises <paramref name="matrix"/> [E·rows, k] in one launch as <paramref name="experts"/> slices of
    /// equal rows, each usable as an operand of its own (tiles: rows a multiple of <see cref="TileRowPad"/>;
    /// blocks: a multiple of 128, so no scaling group straddles two experts).
    /// </summary>
    public static GpuFp8ExpertOperands QuantizeExperts(Tensor matrix, Fp8Grouping grouping, long experts)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (experts <= 0 || matrix.dim() != 2 || matrix.shape[0] % experts != 0)
            throw new ArgumentException($"fp8 experts: [{string.Join(", ", matrix.shape)}] does not split into {experts} equal row slices", nameof(matrix));
        var rows = matrix.shape[0] / experts;
        var multiple = grouping == Fp8Grouping.Tile ? TileRowPad : Group;
        if (rows % multiple != 0)
            throw new ArgumentException($"fp8 experts: {rows} rows per expert is not a multiple of {multiple} ({grouping} scaling groups would straddle experts)", nameof(matrix));
        var whole = Quantize(matrix, grouping);
        try
        {
            return GpuFp8ExpertOperands.Split(whole, experts);
        }
        catch
        {
            whole.Dispose();
            throw;
        }
    }

    /// <summary>
    /// D = A·Bᵀ written into <paramref name="output"/> ([A rows, B rows], contiguous, float32 or bfloat16:
    /// e.g. one expert's slice of a batched result), for unpadded operands and no operand swap.
    /// </summary>
    public static void GemmInto(GpuFp8Operand a, GpuFp8Operand b, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        CheckGemmArguments(a, b, output.dtype);
        if (SwapOperands) throw new InvalidOperationException("fp8 gemm into: not with swapped operands (use Gemm)");
        if (a.PaddedRows != a.Rows || b.PaddedRows != b.Rows)
            throw new ArgumentException($"fp8 gemm into: padded operands ({a.Rows} of {a.PaddedRows}, {b.Rows} of {b.PaddedRows} rows)", nameof(b));
        if (output.dim() != 2 || output.shape[0] != a.Rows || output.shape[1] != b.Rows || !output.is_contiguous() || output.device_type != DeviceType.CUDA)
            throw new ArgumentException($"fp8 gemm into: the output must be a contiguous CUDA [{a.Rows}, {b.Rows}], got [{string.Join(", ", output.shape)}] on {output.device}", nameof(output));
        unsafe
        {
            CudaKernels.Check(CudaKernels.Native.Gemm(TensorPointer.Of(a.Codes), TensorPointer.Of(a.Scales), (int)a.Grouping,
                TensorPointer.Of(b.Codes), TensorPointer.Of(b.Scales), (int)b.Grouping, TensorPointer.Of(output),
                output.dtype == ScalarType.Float32 ? 0 : 1, a.Rows, b.Rows, a.PaddedLength, 0, IntPtr.Zero), "fp8 gemm");
        }
    }

    /// <summary>D = A·Bᵀ for A [M, k] and B [N, k] quantised along k; D is [M, N] of <paramref name="outputType"/>.</summary>
    public static Tensor Gemm(GpuFp8Operand a, GpuFp8Operand b, ScalarType outputType = ScalarType.Float32)
    {
        CheckGemmArguments(a, b, outputType);
        long m = a.PaddedRows, n = b.PaddedRows;
        var full = empty(SwapOperands ? [n, m] : [m, n], outputType, device: a.Codes.device);
        unsafe
        {
            var code = CudaKernels.Native.Gemm(TensorPointer.Of(a.Codes), TensorPointer.Of(a.Scales), (int)a.Grouping,
                TensorPointer.Of(b.Codes), TensorPointer.Of(b.Scales), (int)b.Grouping, TensorPointer.Of(full),
                outputType == ScalarType.Float32 ? 0 : 1, m, n, a.PaddedLength, SwapOperands ? 1 : 0, IntPtr.Zero);
            if (code != 0)
            {
                full.Dispose();
                CudaKernels.Check(code, "fp8 gemm");
            }
        }
        if (!SwapOperands && n == b.Rows)
        {
            if (m == a.Rows) return full;
            using (full) return full.narrow(0, 0, a.Rows).contiguous();
        }
        using (full)
        {
            using var oriented = SwapOperands ? full.t() : full.alias();
            using var cut = oriented.narrow(0, 0, a.Rows).narrow(1, 0, b.Rows);
            return cut.contiguous();
        }
    }

    /// <summary>The checks <see cref="Quantize"/> makes before any native call (usable without a GPU).</summary>
    public static void CheckQuantizeArguments(Tensor matrix, Fp8Grouping grouping, bool transpose)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.dim() != 2)
            throw new ArgumentException($"fp8 quantise: expected a 2-D tensor, got {matrix.dim()} dimensions", nameof(matrix));
        if (matrix.dtype is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"fp8 quantise: expected float32 or bfloat16, got {matrix.dtype}", nameof(matrix));
        if (matrix.device_type != DeviceType.CUDA)
            throw new ArgumentException($"fp8 quantise: the tensor is on {matrix.device}, not on a CUDA device (the CPU path is Fp8TensorQuantizer)", nameof(matrix));
        if (!matrix.is_contiguous())
            throw new ArgumentException("fp8 quantise: the tensor must be contiguous (call .contiguous() first)", nameof(matrix));
        if (matrix.shape[0] == 0 || matrix.shape[1] == 0)
            throw new ArgumentException($"fp8 quantise: the tensor is empty ({matrix.shape[0]}x{matrix.shape[1]})", nameof(matrix));
        var vector = matrix.dtype == ScalarType.Float32 ? 4 : 8;
        if (!transpose && matrix.shape[1] % vector != 0)
            throw new ArgumentException($"fp8 quantise: {matrix.shape[1]} columns; the GPU kernel reads rows 16 bytes at a time (a multiple of {vector} is needed)", nameof(matrix));
        if (!Enum.IsDefined(grouping))
            throw new ArgumentOutOfRangeException(nameof(grouping), grouping, "fp8 quantise: grouping must be Tile or Block");
    }

    /// <summary>The checks <see cref="Gemm"/> makes before any native call (usable without a GPU).</summary>
    public static void CheckGemmArguments(GpuFp8Operand a, GpuFp8Operand b, ScalarType outputType)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.ReductionLength != b.ReductionLength || a.PaddedLength != b.PaddedLength)
            throw new ArgumentException($"fp8 gemm: reduction lengths differ (A {a.ReductionLength}, B {b.ReductionLength})", nameof(b));
        if (a.Grouping == Fp8Grouping.Block && b.Grouping == Fp8Grouping.Block)
            throw new ArgumentException("fp8 gemm: at most one operand may have 128x128 block scales (cuBLASLt offers tile·block, block·tile and tile·tile)", nameof(b));
        if (outputType is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"fp8 gemm: output must be float32 or bfloat16, got {outputType}", nameof(outputType));
        var elementBytes = outputType == ScalarType.Float32 ? 4 : 2;
        var leading = SwapOperands ? a.PaddedRows : b.PaddedRows;
        if (leading * elementBytes % 16 != 0)
            throw new ArgumentException($"fp8 gemm: the output's rows of {leading} elements must fill whole 16-byte rows ({16 / elementBytes} elements)", nameof(b));
        if (a.Codes.device_type != DeviceType.CUDA || b.Codes.device_type != DeviceType.CUDA || a.Codes.device_index != b.Codes.device_index)
            throw new ArgumentException($"fp8 gemm: operands on {a.Codes.device} and {b.Codes.device}; both must be on the same CUDA device", nameof(b));
    }

    /// <summary><paramref name="length"/> rounded up to a multiple of 128.</summary>
    public static long Pad(long length) => (length + Group - 1) / Group * Group;
}
