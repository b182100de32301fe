using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace Orchestrator.Kernels.Tests.Gpu;

/// <summary>
/// The native bridge to ATen on a machine without it (the CPU build and CI never have it): a missing library is
/// reported with the way to build it, every caller keeps the plain TorchSharp path, calls fail with a .NET
/// exception rather than a crash, and the grouped_mm layout (pure tensor arithmetic) is checked here. The bindings
/// themselves need a GPU and the library built there: the GPU bench's <c>native</c> mode checks each of them
/// against the TorchSharp path on the device (bench/gpu/run1.sh), so no test here can reach them.
/// </summary>
public sealed class AtenBridgeTests
{
    public AtenBridgeTests() => Torch.Ready();

    [Fact]
    public void A_missing_bridge_is_reported_with_the_way_to_build_it_and_nothing_uses_it()
    {
        var folder = Directory.CreateTempSubdirectory("no-aten-bridge").FullName;
        var error = Assert.Throws<FileNotFoundException>(() => AtenBridge.ResolvePath(folder));
        Assert.Contains(AtenBridge.FileName, error.Message, StringComparison.Ordinal);
        Assert.Contains("Kernels/native/build.sh", error.Message, StringComparison.Ordinal);
        Assert.Contains(AtenBridge.EnvironmentVariable, error.Message, StringComparison.Ordinal);

        Assert.False(AtenBridge.TryLoad(Path.Combine(folder, "absent.so")));
        Assert.False(AtenBridge.IsLoaded);
        Assert.False(AtenBridge.InUse);
        Assert.False(AtenBridge.Uses(AtenOperations.GroupedMm));
        Assert.Contains("absent.so", AtenBridge.Status, StringComparison.Ordinal);

        using var rows = zeros(4, 8);
        Assert.False(GroupedMmExperts.Supports(rows, GemmPrecision.BFloat16));
        using var a = zeros(32, 16, ScalarType.BFloat16);
        using var b = zeros(2, 16, 8, ScalarType.BFloat16);
        using var offsets = tensor(new[] { 16, 32 }, ScalarType.Int32);
        var refused = Assert.Throws<InvalidOperationException>(() => AtenOps.GroupedMm(a, b, offsets));
        Assert.Contains(AtenBridge.EnvironmentVariable, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Operations_parse_and_an_unknown_one_is_refused_by_name()
    {
        Assert.Equal(AtenOperations.All, AtenBridge.ParseOperations(null));
        Assert.Equal(AtenOperations.All, AtenBridge.ParseOperations(" "));
        Assert.Equal(AtenOperations.GroupedMm | AtenOperations.RmsNorm, AtenBridge.ParseOperations("grouped_mm, rms_norm"));
        Assert.Equal(AtenOperations.FusedAdamW, AtenBridge.ParseOperations("fused_adamw"));
        Assert.Equal(AtenOperations.None, AtenBridge.ParseOperations("none"));
        var error = Assert.Throws<ArgumentException>(() => AtenBridge.ParseOperations("grouped_mm,flash"));
        Assert.Contains("\"flash\"", error.Message, StringComparison.Ordinal);
        Assert.Contains(AtenBridge.OperationsVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_bridge_AdamW_takes_the_per_parameter_path()
    {
        using var p = new Parameter(ones(3, 4));
        using var optimizer = new AdamW([("w", p)], 0.9, 0.95, 1e-8, 0.1);
        Assert.False(optimizer.UsesFusedKernel);
        p.grad = full(3, 4, Scalars.Of(0.5));
        optimizer.Step(0.01);
        // First step: m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε) ≈ lr after the decay p·(1 − lr·wd).
        var expected = (1 - (0.01 * 0.1)) - (0.01 * 0.5 / (0.5 + 1e-8));
        Assert.Equal(expected, p.detach()[0, 0].item<float>(), 6);
    }

    [Fact]
    public void The_grouped_mm_layout_puts_each_expert_at_an_aligned_start_and_the_last_group_at_the_buffer_end()
    {
        long[] counts = [300, 0, 17, 129, 64, 1];
        using var scope = NewDisposeScope();
        var sorted = cat(counts.Select((c, e) => full(c, Scalars.OfInteger(e), ScalarType.Int64)).ToArray(), 0);
        var (positions, offsets) = GroupedMmExperts.Layout(tensor(counts), sorted);
        var total = counts.Sum();
        var size = GroupedMmExperts.BufferRows(total, counts.Length);
        Assert.Equal(512 + (16 * 6), size); // 511 rows rounded up to 512, plus one alignment per expert
        var ends = offsets.to(ScalarType.Int64).data<long>().ToArray();
        Assert.Equal([304, 304, 336, 480, 544, size], ends);
        Assert.Equal(ScalarType.Int32, offsets.dtype);

        var places = positions.data<long>().ToArray();
        Assert.Equal(total, places.Distinct().LongCount());
        long row = 0, start = 0;
        for (var e = 0; e < counts.Length; e++)
        {
            Assert.Equal(0, start % GroupedMmExperts.RowAlignment);
            for (var j = 0L; j < counts[e]; j++, row++) Assert.Equal(start + j, places[row]);
            Assert.True(start + counts[e] <= ends[e]);
            start = ends[e];
        }
    }
}
