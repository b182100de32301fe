using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Gpu;

/// <summary>
/// The GPU bindings on a machine without a GPU: the libraries are reported missing with a message
/// that says what to do, and every argument check runs before any native call (bench/gpu/run.sh
/// checks the kernels themselves on the device).
/// </summary>
public sealed class CudaBindingTests
{
    public CudaBindingTests() => Torch.Ready();

    [Fact]
    public void A_missing_kernel_library_is_reported_with_the_way_to_build_it()
    {
        var folder = Directory.CreateTempSubdirectory("no-cuda-kernels").FullName;
        var error = Assert.Throws<FileNotFoundException>(() => CudaKernels.ResolvePath(folder));
        Assert.Contains(CudaKernels.FileName, error.Message, StringComparison.Ordinal);
        Assert.Contains("Kernels/cuda/build.sh", error.Message, StringComparison.Ordinal);
        Assert.Contains(CudaKernels.EnvironmentVariable, error.Message, StringComparison.Ordinal);

        Assert.False(CudaKernels.TryLoad(Path.Combine(folder, "absent.so")));
        Assert.False(CudaKernels.IsLoaded);
        Assert.Contains("absent.so", CudaKernels.Status, StringComparison.Ordinal);
        Assert.False(Fp8Gpu.Available);
    }

    [Fact]
    public void A_missing_nccl_is_reported_with_the_variable_that_points_at_it()
    {
        Assert.False(NcclNative.TryLoad("/nonexistent/libnccl.so.2"));
        Assert.Contains(NcclNative.EnvironmentVariable, NcclNative.Status, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/libnccl.so.2", NcclNative.Status, StringComparison.Ordinal);
    }

    [Fact]
    public void Quantise_arguments_are_checked_before_any_native_call()
    {
        using var cpu = zeros(4, 128);
        AssertMessage(() => Fp8Gpu.CheckQuantizeArguments(cpu, Fp8Grouping.Tile, false), "not on a CUDA device");
        using var cube = zeros(2, 2, 128);
        AssertMessage(() => Fp8Gpu.CheckQuantizeArguments(cube, Fp8Grouping.Tile, false), "2-D");
        using var integers = zeros(4, 128, ScalarType.Int32);
        AssertMessage(() => Fp8Gpu.CheckQuantizeArguments(integers, Fp8Grouping.Tile, false), "float32 or bfloat16");
        using var wide = zeros(128, 4);
        using var strided = wide.t();
        AssertMessage(() => Fp8Gpu.CheckQuantizeArguments(strided, Fp8Grouping.Block, false), "not on a CUDA device");
    }

    [Fact]
    public void Gemm_arguments_are_checked_before_any_native_call()
    {
        using var tile = Operand(256, 640, Fp8Grouping.Tile);
        using var block = Operand(384, 640, Fp8Grouping.Block);
        using var shorter = Operand(384, 512, Fp8Grouping.Block);
        using var odd = Operand(6, 640, Fp8Grouping.Block);
        AssertMessage(() => Fp8Gpu.CheckGemmArguments(tile, shorter, ScalarType.Float32), "reduction lengths differ");
        AssertMessage(() => Fp8Gpu.CheckGemmArguments(block, block, ScalarType.Float32), "at most one operand");
        AssertMessage(() => Fp8Gpu.CheckGemmArguments(tile, block, ScalarType.Float16), "float32 or bfloat16");
        AssertMessage(() => Fp8Gpu.CheckGemmArguments(tile, odd, ScalarType.BFloat16), "whole 16-byte rows");
        AssertMessage(() => Fp8Gpu.CheckGemmArguments(tile, block, ScalarType.BFloat16), "same CUDA device");
    }

    [Fact]
    public void Settings_parse_and_bad_settings_name_the_part_that_is_wrong()
    {
        var saved = Fp8Gpu.Settings;
        try
        {
            Fp8Gpu.Configure("tile=0, block=1 ,blockpad=4,swap=1,out=bfloat16,grouped=0");
            Assert.Equal("tile=0,block=1,blockpad=4,swap=1,enabled=1,grouped=0,out=bfloat16", Fp8Gpu.Settings);
            Fp8Gpu.Configure(null);
            Assert.Equal("tile=0,block=1,blockpad=4,swap=1,enabled=1,grouped=0,out=bfloat16", Fp8Gpu.Settings);
            AssertMessage(() => Fp8Gpu.Configure("tile=2"), "'tile=2'");
            AssertMessage(() => Fp8Gpu.Configure("out=fp16"), "'out=fp16'");
        }
        finally
        {
            Fp8Gpu.Configure(saved);
        }
        Assert.Equal(saved, Fp8Gpu.Settings);
        Assert.Equal(640, Fp8Gpu.Pad(513));
        Assert.Equal(128, Fp8Gpu.Pad(128));
    }

    [Fact]
    public void Nccl_all_to_all_checks_counts_and_device_before_any_native_call()
    {
        using var rows = zeros(10, 8);
        AssertMessage(() => NcclCollective.CheckAllToAll(rows, [10], [10, 0], 2), "one per rank");
        AssertMessage(() => NcclCollective.CheckAllToAll(rows, [11, -1], [5, 5], 2), "negative");
        AssertMessage(() => NcclCollective.CheckAllToAll(rows, [4, 4], [5, 5], 2), "sum to 8 rows, the tensor has 10");
        AssertMessage(() => NcclCollective.CheckAllToAll(rows, [4, 6], [5, 5], 2), "not on a CUDA device");
        Assert.Equal(9, NcclCollective.DataType(ScalarType.BFloat16));
        Assert.Equal(7, NcclCollective.DataType(ScalarType.Float32));
        AssertMessage(() => NcclCollective.DataType(ScalarType.ComplexFloat32), "no element type");
    }

    [Fact]
    public void The_fp8_projection_falls_back_to_the_emulation_off_the_gpu()
    {
        using var projection = new Projection("p", 256, 128, GemmPrecision.Fp8);
        using (no_grad()) projection.Weight.copy_(randn(128, 256));
        using var x = randn(4, 256);
        using var projected = projection.forward(x);
        using var reference = Fp8FakeQuant.Tiles(x).matmul(Fp8FakeQuant.Blocks(projection.Weight.detach()).t());
        Assert.True(projected.eq(reference).all().item<bool>());
    }

    private static GpuFp8Operand Operand(long rows, long reduction, Fp8Grouping grouping)
    {
        var padded = Fp8Gpu.Pad(reduction);
        var groups = grouping == Fp8Grouping.Tile ? rows : (rows + 127) / 128;
        return new GpuFp8Operand(zeros([rows, padded], ScalarType.Byte), zeros(groups * (padded / 128)), grouping, rows, reduction, 1, groups);
    }

    private static void AssertMessage(Action action, string fragment)
    {
        var error = Assert.ThrowsAny<ArgumentException>(action);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }
}
