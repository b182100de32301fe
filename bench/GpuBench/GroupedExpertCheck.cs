using System.Text.Json.Nodes;
using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>
/// Grouped routed experts on the GPU against the per-expert path on the same tensors: the grouped FP8
/// product (all experts quantised in one launch each, per-expert GEMMs on slices) against each expert's
/// own <see cref="Projection"/> (y, dx, dW), then a whole layer of experts (SwiGLU) grouped against the
/// loop in bfloat16 and FP8, with the time of one forward+backward of each at the moe-1b shape.
/// A failed FP8 comparison turns the grouped FP8 path off for the training runs (settings file).
/// </summary>
internal static class GroupedExpertCheck
{
    private static readonly Device Cuda = new(DeviceType.CUDA, 0);
    private const double Limit = 1e-3;

    // A whole SwiGLU re-rounds its hidden activations (bf16, or FP8 tiles whose scale may move with a last-bit
    // difference of the first GEMM), so a layer is held to 1e-2, the projection itself to 1e-3.
    private const double LayerLimit = 1e-2;

    public static int Run(Results results)
    {
        var failures = 0;
        try
        {
            failures += ProjectionCheck(results);
        }
        catch (Exception e)
        {
            Results.Say($"FAIL grouped FP8 projection vs per expert: {e.GetType().Name}: {e.Message}");
            results.Add("grouped_fp8_vs_per_expert", new JsonObject { ["pass"] = false, ["error"] = e.Message });
            failures++;
        }
        if (failures > 0) Fp8Gpu.GroupedExperts = false;
        foreach (var precision in new[] { GemmPrecision.BFloat16, GemmPrecision.Fp8 })
        {
            var failed = 0;
            try
            {
                failed = LayerCheck(results, precision);
            }
            catch (Exception e)
            {
                Results.Say($"FAIL grouped experts layer {precision}: {e.GetType().Name}: {e.Message}");
                results.Append("grouped_layer", new JsonObject { ["dtype"] = precision.ToString(), ["pass"] = false, ["error"] = e.Message });
                failed = 1;
            }
            if (failed > 0 && precision == GemmPrecision.Fp8) Fp8Gpu.GroupedExperts = false;
            failures += failed;
        }
        return failures;
    }

    private static double RelativeError(IEnumerable<Tensor> actual, IEnumerable<Tensor> expected)
    {
        using var scope = NewDisposeScope();
        var a = cat(actual.Select(t => t.flatten().to(ScalarType.Float64)).ToArray(), 0);
        var b = cat(expected.Select(t => t.flatten().to(ScalarType.Float64)).ToArray(), 0);
        return ((a - b).norm() / b.norm()).item<double>();
    }

    // y = x·Wᵀ for 4 experts (one with no rows), k 1024, n 512: grouped against each expert's Projection.
    private static int ProjectionCheck(Results results)
    {
        using var scope = NewDisposeScope();
        long[] counts = [300, 0, 17, 129];
        const long k = 1024, n = 512;
        long e = counts.Length, cap = GroupedExperts.Capacity(counts);
        var x = zeros([e, cap, k], device: Cuda);
        var dy = zeros([e, cap, n], device: Cuda);
        for (var i = 0; i < e; i++)
        {
            if (counts[i] == 0) continue;
            x[i].narrow(0, 0, counts[i]).copy_(randn(counts[i], k, device: Cuda));
            dy[i].narrow(0, 0, counts[i]).copy_(randn(counts[i], n, device: Cuda));
        }
        x.requires_grad_(true);
        var w = randn([e, n, k], device: Cuda).mul(Scalars.Of(0.02)).requires_grad_(true);
        var grouped = GroupedExperts.GroupsFp8OnGpu(x, w);
        var y = GroupedExperts.Project(x, w, GemmPrecision.Fp8);
        y.backward([dy]);

        var (ys, yRefs, dxs, dxRefs, dws, dwRefs) = (new List<Tensor>(), new List<Tensor>(), new List<Tensor>(), new List<Tensor>(), new List<Tensor>(), new List<Tensor>());
        for (var i = 0; i < e; i++)
        {
            if (counts[i] == 0)
            {
                dws.Add(w.grad![i]);
                dwRefs.Add(zeros(n, k, device: Cuda));
                continue;
            }
            Projection projection;
            using (ModuleDevice.Use(Cuda)) projection = new Projection("p", (int)k, (int)n, GemmPrecision.Fp8);
            using (no_grad()) projection.Weight.copy_(w[i].detach());
            var xi = x[i].detach().narrow(0, 0, counts[i]).clone().requires_grad_(true);
            var yi = projection.forward(xi);
            yi.backward([dy[i].narrow(0, 0, counts[i])]);
            ys.Add(y[i].detach().narrow(0, 0, counts[i]));
            yRefs.Add(yi.detach());
            dxs.Add(x.grad![i].narrow(0, 0, counts[i]));
            dxRefs.Add(xi.grad!);
            dws.Add(w.grad![i]);
            dwRefs.Add(projection.Weight.grad!);
        }
        var padGradient = x.grad!.abs().sum().item<float>() - dxs.Sum(t => t.abs().sum().item<float>());
        var errors = new[] { RelativeError(ys, yRefs), RelativeError(dxs, dxRefs), RelativeError(dws, dwRefs) };
        var ok = grouped && errors.All(v => v < Limit);
        Results.Say($"{(ok ? "PASS" : "FAIL")} grouped FP8 experts ({(grouped ? "one quantisation per operand, GEMMs on slices" : "NOT the grouped path")}) vs per-expert FP8 projections: " +
            $"y {errors[0]:E3}, dx {errors[1]:E3}, dW {errors[2]:E3} (limit {Limit:E0}); gradient on pad rows {padGradient:E1}");
        results.Add("grouped_fp8_vs_per_expert", new JsonObject
        {
            ["grouped_path"] = grouped, ["y"] = errors[0], ["dx"] = errors[1], ["dw"] = errors[2], ["limit"] = Limit, ["pass"] = ok,
        });
        return ok ? 0 : 1;
    }

    // A layer of moe-1b's routed experts (48 × SwiGLU 1024→512→1024, 8192 tokens × top-6, loads 1 : 1.5 : 2, one idle):
    // grouped against the per-expert loop, output compared, and one forward+backward timed for each.
    private static int LayerCheck(Results results, GemmPrecision precision)
    {
        using var scope = NewDisposeScope();
        const int experts = 48, dim = 1024, hidden = 512;
        const long rows = 8192 * 6;
        var weights = new double[experts];
        for (var i = 0; i < experts; i++) weights[i] = 1.0 + (0.5 * (i % 3)); // loads 1 : 1.5 : 2
        var counts = weights.Select(v => (long)(rows * v / weights.Sum())).ToArray();
        counts[0] += rows - counts.Sum();
        counts[4] += counts[5]; // one expert with no rows
        counts[5] = 0;
        FeedForward[] ffns;
        using (ModuleDevice.Use(Cuda)) ffns = Enumerable.Range(0, experts).Select(i => new FeedForward($"expert{i}", dim, hidden, precision)).ToArray();
        for (var i = 0; i < experts; i++) ParameterInit.Initialize(ffns[i], 7, 0.02, $"experts.{i}.");
        var input = randn(rows, dim, device: Cuda);
        var capacity = GroupedExperts.Capacity(counts);
        Tensor Loop(Tensor x)
        {
            var outputs = new List<Tensor>();
            long start = 0;
            for (var i = 0; i < experts; i++)
            {
                if (counts[i] == 0) continue;
                outputs.Add(ffns[i].forward(x.narrow(0, start, counts[i])));
                start += counts[i];
            }
            return cat(outputs, 0);
        }
        Tensor Grouped(Tensor x) => GroupedExperts.Run(x, counts, ffns, capacity);
        Tensor yLoop, yGrouped;
        using (no_grad())
        {
            yLoop = Loop(input);
            yGrouped = Grouped(input);
        }
        var error = RelativeError([yGrouped], [yLoop]);
        double Time(Func<Tensor, Tensor> run) => Timing.MedianMs(() =>
        {
            using var inner = NewDisposeScope();
            var x = input.detach().requires_grad_(true);
            run(x).sum().backward();
            foreach (var p in ffns.SelectMany(f => f.parameters())) p.grad = null;
        }, warmups: 1, repetitions: 3);
        var loopMs = Time(Loop);
        var groupedMs = Time(Grouped);
        var ok = error < LayerLimit;
        Results.Say($"{(ok ? "PASS" : "FAIL")} grouped experts layer {precision}: output vs loop {error:E3} (limit {LayerLimit:E0}); " +
            $"forward+backward: loop {loopMs:F1} ms, grouped {groupedMs:F1} ms ({loopMs / groupedMs:F1}x), capacity {capacity}");
        results.Append("grouped_layer", new JsonObject
        {
            ["dtype"] = precision.ToString(), ["relative_error"] = error, ["limit"] = LayerLimit, ["pass"] = ok,
            ["loop_ms"] = loopMs, ["grouped_ms"] = groupedMs, ["capacity"] = capacity, ["rows"] = rows,
        });
        return ok ? 0 : 1;
    }
}
