using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Tests.Support;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Gpu;

/// <summary>
/// The per-expert slices of one quantised matrix, checked on CPU tensors (the layout logic needs no GPU):
/// every slice's scale at (row group, k block) is the whole matrix's scale of that expert's row group,
/// and its codes are the expert's rows.
/// </summary>
public sealed class GpuFp8ExpertOperandsTests
{
    public GpuFp8ExpertOperandsTests() => Torch.Ready();

    [Theory]
    [InlineData(Fp8Grouping.Tile, 0, 1)]
    [InlineData(Fp8Grouping.Tile, 1, 1)]
    [InlineData(Fp8Grouping.Block, 0, 4)]
    [InlineData(Fp8Grouping.Block, 1, 4)]
    [InlineData(Fp8Grouping.Block, 1, 1)]
    public void EachSlice_ReadsItsExpertsScalesAndCodes(Fp8Grouping grouping, int layout, int pad)
    {
        const long experts = 3, rowsPerExpert = 256, kBlocks = 3;
        var saved = Fp8Gpu.BlockScalePad;
        Fp8Gpu.BlockScalePad = pad;
        try
        {
            var rows = experts * rowsPerExpert;
            var groups = grouping == Fp8Grouping.Tile ? rows : rows / 128;
            var groupsPerExpert = groups / experts;
            var padTo = grouping == Fp8Grouping.Tile ? 1 : pad;
            var stride = layout == 0 ? (kBlocks + padTo - 1) / padTo * padTo : (groups + padTo - 1) / padTo * padTo;
            var outer = layout == 0 ? groups : kBlocks;
            var values = new float[outer * stride];
            var whole = new GpuFp8Operand(arange(rows * kBlocks * 128, dtype: ScalarType.Int64).remainder(251).to(ScalarType.Byte).view(rows, kBlocks * 128),
                tensor(values), grouping, rows, kBlocks * 128, layout, stride);
            for (var g = 0L; g < groups; g++)
                for (var kb = 0L; kb < kBlocks; kb++) values[whole.ScaleIndex(g, kb)] = (g * 10) + kb + 1;
            whole.Scales.copy_(tensor(values));

            using var split = GpuFp8ExpertOperands.Split(whole, experts);
            for (var e = 0L; e < experts; e++)
            {
                using var slice = split.Expert(e);
                Assert.Equal(rowsPerExpert, slice.Rows);
                Assert.Equal(rowsPerExpert, slice.PaddedRows);
                if (grouping == Fp8Grouping.Block && layout == 1) Assert.Equal(0, slice.ScaleStride % pad);
                var scales = slice.Scales.data<float>().ToArray();
                for (var g = 0L; g < groupsPerExpert; g++)
                    for (var kb = 0L; kb < kBlocks; kb++)
                        Assert.Equal(((e * groupsPerExpert + g) * 10) + kb + 1, scales[slice.ScaleIndex(g, kb)]);
                using var expected = whole.Codes.narrow(0, e * rowsPerExpert, rowsPerExpert);
                Assert.True(expected.eq(slice.Codes).all().item<bool>());
            }
        }
        finally
        {
            Fp8Gpu.BlockScalePad = saved;
        }
    }

    [Fact]
    public void Split_RefusesSlicesThatWouldStraddleBlocks()
    {
        var whole = new GpuFp8Operand(zeros([384, 128], ScalarType.Byte), ones(3), Fp8Grouping.Block, 384, 128, 0, 4);
        var error = Assert.Throws<ArgumentException>(() => GpuFp8ExpertOperands.Split(whole, 2));
        Assert.Contains("straddle", error.Message, StringComparison.Ordinal);
        whole.Dispose();
    }
}
