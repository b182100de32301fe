using System.Text.Json.Nodes;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using AdamW = Orchestrator.Kernels.Training.AdamW;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>
/// The native bridge to ATen (Kernels/native) on the device, every binding against the plain TorchSharp path on
/// fresh random inputs: grouped_mm against a float32 loop over experts (output and both gradients), the grouped_mm
/// routed experts against the padded-bmm ones at moe-1b's layer shape (output, input and weight gradients, and one
/// forward+backward timed for each), fused AdamW against the TorchSharp AdamW over three steps, rms_norm against the
/// module's own formula (output and gradients), and a C++ error coming back as an exception with its message.
/// </summary>
internal static class NativeBridgeCheck
{
    private static readonly Device Cuda = new(DeviceType.CUDA, 0);

    public static int Run(BenchOptions options)
    {
        var results = new Results(options.Required("out"));
        if (!AtenBridge.IsLoaded)
        {
            Results.Say($"FAIL native bridge: {AtenBridge.Status}");
            results.Add("bridge", new JsonObject { ["loaded"] = false, ["status"] = AtenBridge.Status });
            return 1;
        }
        Results.Say($"native bridge {AtenBridge.Status}, built against torch {AtenBridge.TorchVersion()}");
        results.Add("bridge", new JsonObject { ["loaded"] = true, ["status"] = AtenBridge.Status, ["torch"] = AtenBridge.TorchVersion() });
        torch.manual_seed(20261207);
        var failures = BenchPhase.Run(results, "grouped_mm", () => GroupedMm(results));
        failures += BenchPhase.Run(results, "grouped_mm_layer", () => Layer(results));
        failures += BenchPhase.Run(results, "fused_adamw", () => FusedAdamW(results));
        failures += BenchPhase.Run(results, "rms_norm", () => RmsNorm(results));
        failures += BenchPhase.Run(results, "error_path", () => ErrorPath(results));
        AtenBridge.Enabled = true;
        Results.Say($"native bridge checks: {failures} failed");
        results.Add("failed_checks", failures);
        return failures == 0 ? 0 : 1;
    }

    private static double RelativeError(IEnumerable<Tensor> actual, IEnumerable<Tensor> expected)
    {
        using var scope = NewDisposeScope();
        var a = cat(actual.Select(t => t.flatten().to(ScalarType.Float64)).ToArray(), 0);
        var b = cat(expected.Select(t => t.flatten().to(ScalarType.Float64)).ToArray(), 0);
        return ((a - b).norm() / b.norm()).item<double>();
    }

    private static int Report(Results results, string name, string what, IReadOnlyDictionary<string, double> errors, double limit, JsonObject? extra = null)
    {
        var ok = errors.Values.All(v => double.IsFinite(v) && v < limit);
        Results.Say($"{(ok ? "PASS" : "FAIL")} {what}: {string.Join(", ", errors.Select(p => $"{p.Key} {p.Value:E3}"))} (limit {limit:E0})");
        var node = extra ?? [];
        foreach (var (key, value) in errors) node[key] = value;
        node["limit"] = limit;
        node["pass"] = ok;
        results.Add(name, node);
        return ok ? 0 : 1;
    }

    // Five experts (one with no rows, counts not multiples of 16), k 1024, n 512, bf16: grouped_mm over device offsets
    // against each expert's rows times its matrix in float32 (of the same bf16 values); dy random.
    private static int GroupedMm(Results results)
    {
        using var scope = NewDisposeScope();
        long[] counts = [300, 0, 17, 129, 64];
        const long k = 1024, n = 512;
        var total = counts.Sum();
        var experts = cat(counts.Select((c, e) => full(c, Scalars.OfInteger(e), ScalarType.Int64, device: Cuda)).ToArray(), 0);
        var loads = tensor(counts, ScalarType.Int64, device: Cuda);
        var (positions, offsets) = GroupedMmExperts.Layout(loads, experts);
        var rows = randn(total, k, device: Cuda).to(ScalarType.BFloat16).requires_grad_(true);
        var b = randn(counts.Length, n, k, device: Cuda).mul(Scalars.Of(0.05)).to(ScalarType.BFloat16).requires_grad_(true);
        var size = GroupedMmExperts.BufferRows(total, counts.Length);
        var buffer = zeros([size, k], ScalarType.BFloat16, device: Cuda).index_copy(0, positions, rows);
        var y = AtenOps.GroupedMm(buffer, b.transpose(1, 2), offsets).index_select(0, positions);
        var dy = randn(total, n, device: Cuda).to(ScalarType.BFloat16);
        y.backward([dy]);

        var (yRef, dxRef, dbRef) = (new List<Tensor>(), new List<Tensor>(), new List<Tensor>());
        long start = 0;
        for (var e = 0; e < counts.Length; e++)
        {
            var x = rows.detach().narrow(0, start, counts[e]).to(ScalarType.Float32);
            var w = b.detach()[e].to(ScalarType.Float32);
            var g = dy.narrow(0, start, counts[e]).to(ScalarType.Float32);
            yRef.Add(x.matmul(w.t()));
            dxRef.Add(g.matmul(w));
            dbRef.Add(g.t().matmul(x));
            start += counts[e];
        }
        var idle = b.grad![1].to(ScalarType.Float32).abs().sum().item<float>();
        var errors = new Dictionary<string, double>
        {
            ["y"] = RelativeError([y.detach()], [cat(yRef.ToArray(), 0)]),
            ["dx"] = RelativeError([rows.grad!], [cat(dxRef.ToArray(), 0)]),
            ["db"] = RelativeError([b.grad!], [stack(dbRef.ToArray(), 0)]),
        };
        if (idle != 0) errors["idle_expert_gradient"] = double.PositiveInfinity;
        return Report(results, "grouped_mm_vs_loop", "grouped_mm (bf16, device offsets) vs a float32 loop over experts", errors, 1e-2,
            new JsonObject { ["counts"] = new JsonArray(counts.Select(c => (JsonNode)c).ToArray()), ["idle_expert_gradient_abs_sum"] = idle });
    }

    // moe-1b's routed experts (48 × SwiGLU 1024→512→1024, 8192 tokens × top-6, loads 1 : 1.5 : 2, one idle) in bf16:
    // grouped_mm experts against the padded bmm (the path without the bridge), output and gradients, and their times.
    private static int Layer(Results results)
    {
        using var scope = NewDisposeScope();
        const int experts = 48, dim = 1024, hidden = 512;
        const long rows = 8192 * 6;
        var weights = Enumerable.Range(0, experts).Select(i => 1.0 + (0.5 * (i % 3))).ToArray();
        var counts = weights.Select(v => (long)(rows * v / weights.Sum())).ToArray();
        counts[0] += rows - counts.Sum();
        counts[4] += counts[5];
        counts[5] = 0;
        FeedForward[] ffns;
        using (ModuleDevice.Use(Cuda)) ffns = Enumerable.Range(0, experts).Select(i => new FeedForward($"expert{i}", dim, hidden, GemmPrecision.BFloat16)).ToArray();
        for (var i = 0; i < experts; i++) ParameterInit.Initialize(ffns[i], 11, 0.02, $"experts.{i}.");
        var sortedExperts = cat(counts.Select((c, e) => full(c, Scalars.OfInteger(e), ScalarType.Int64, device: Cuda)).ToArray(), 0);
        var loads = tensor(counts, ScalarType.Int64, device: Cuda);
        var input = randn(rows, dim, device: Cuda);
        var dy = randn(rows, dim, device: Cuda);
        var capacity = GroupedExperts.Capacity(counts);
        Tensor Padded(Tensor x) => GroupedExperts.Run(x, counts, ffns, capacity);
        Tensor Mm(Tensor x) => GroupedMmExperts.Run(x, sortedExperts, loads, ffns);
        (Tensor Y, Tensor[] Grads) Pass(Func<Tensor, Tensor> run)
        {
            foreach (var p in ffns.SelectMany(f => f.parameters())) p.grad = null;
            var x = input.detach().clone().requires_grad_(true);
            var y = run(x);
            y.backward([dy]);
            return (y.detach(), [x.grad!, .. ffns.SelectMany(f => f.parameters()).Select(p => p.grad!.clone())]);
        }
        var (yPadded, gPadded) = Pass(Padded);
        var (yMm, gMm) = Pass(Mm);
        var errors = new Dictionary<string, double>
        {
            ["y"] = RelativeError([yMm], [yPadded]),
            ["dx"] = RelativeError([gMm[0]], [gPadded[0]]),
            ["dw"] = RelativeError(gMm[1..], gPadded[1..]),
        };
        double Time(Func<Tensor, Tensor> run) => Timing.MedianMs(() =>
        {
            using var inner = NewDisposeScope();
            var x = input.detach().requires_grad_(true);
            run(x).backward([dy]);
            foreach (var p in ffns.SelectMany(f => f.parameters())) p.grad = null;
        }, warmups: 2, repetitions: 5);
        var paddedMs = Time(Padded);
        var mmMs = Time(Mm);
        Results.Say($"  routed experts forward+backward (moe-1b layer, bf16): padded bmm {paddedMs:F1} ms (capacity {capacity}), grouped_mm {mmMs:F1} ms ({paddedMs / mmMs:F2}x)");
        return Report(results, "grouped_mm_layer", "grouped_mm routed experts vs padded bmm (bf16, 48 experts)", errors, 1e-2,
            new JsonObject { ["padded_ms"] = paddedMs, ["grouped_mm_ms"] = mmMs, ["capacity"] = capacity, ["rows"] = rows });
    }

    // Matrices (decayed) and gains (not), three steps of the same gradients: fused against the TorchSharp AdamW.
    private static int FusedAdamW(Results results)
    {
        using var scope = NewDisposeScope();
        long[][] shapes = [[512, 1024], [1024], [48, 96], [7], [256, 256]];
        var initial = shapes.Select(s => randn(s, device: Cuda)).ToArray();
        var grads = Enumerable.Range(0, 3).Select(_ => shapes.Select(s => randn(s, device: Cuda)).ToArray()).ToArray();
        (Parameter[] Params, AdamW Optimizer) Make() {
            var ps = initial.Select(t => new Parameter(t.clone())).ToArray();
            return (ps, new AdamW(ps.Select((p, i) => ($"p{i}", p)), 0.9, 0.95, 1e-8, 0.1));
        }
        var (plainParams, plain) = Make();
        var (fusedParams, fused) = Make();
        var saved = AtenBridge.Operations;
        try
        {
            for (var s = 0; s < 3; s++)
            {
                AtenBridge.Operations = saved & ~AtenOperations.FusedAdamW;
                if (plain.UsesFusedKernel) throw new InvalidOperationException("the plain AdamW took the fused kernel");
                for (var i = 0; i < shapes.Length; i++) plainParams[i].grad = grads[s][i].clone();
                plain.Step(1e-3 * (s + 1));
                AtenBridge.Operations = saved | AtenOperations.FusedAdamW;
                if (!fused.UsesFusedKernel) throw new InvalidOperationException("the fused AdamW did not take the fused kernel");
                for (var i = 0; i < shapes.Length; i++) fusedParams[i].grad = grads[s][i].clone();
                fused.Step(1e-3 * (s + 1));
            }
        }
        finally
        {
            AtenBridge.Operations = saved;
        }
        var moved = RelativeError(plainParams, initial);
        var errors = new Dictionary<string, double>
        {
            ["params"] = RelativeError(fusedParams, plainParams),
            ["moments"] = RelativeError(fused.State().Select(x => x.Tensor), plain.State().Select(x => x.Tensor)),
        };
        // The update itself (p − p0), so that a fused step that did nothing cannot pass. Its own limit: the float32
        // rounding of p (|p| ~ 1, half an ulp 6e-8) against updates of ~lr (1e-3…3e-3) is ~1e-5 of the update alone,
        // before the two formulas round differently (the first device run measured 1.7e-5 against a 1e-5 limit).
        var update = RelativeError(fusedParams.Select((p, i) => p - initial[i]), plainParams.Select((p, i) => p - initial[i]));
        plain.Dispose();
        fused.Dispose();
        var failed = Report(results, "fused_adamw_vs_plain", "fused AdamW vs TorchSharp AdamW (3 steps, decayed matrices + gains)", errors, 1e-5,
            new JsonObject { ["params_moved_relative"] = moved });
        return failed + Report(results, "fused_adamw_update", "fused AdamW update p - p0 vs TorchSharp's", new Dictionary<string, double> { ["update"] = update }, 1e-4);
    }

    private static int RmsNorm(Results results)
    {
        using var scope = NewDisposeScope();
        Kernels.Model.RmsNorm norm;
        using (ModuleDevice.Use(Cuda)) norm = new Kernels.Model.RmsNorm("n", 1024, 1e-6);
        using (no_grad()) norm.parameters().First().copy_(randn(1024, device: Cuda).mul(Scalars.Of(0.3)).add(Scalars.Of(1.0), Scalars.One));
        var input = randn(4, 64, 1024, device: Cuda).mul(randn(4, 64, 1, device: Cuda).exp());
        var dy = randn(4, 64, 1024, device: Cuda);
        (Tensor Y, Tensor Dx, Tensor Dw) Pass(bool bridge)
        {
            AtenBridge.Enabled = bridge;
            norm.zero_grad();
            var x = input.detach().clone().requires_grad_(true);
            var y = norm.forward(x);
            y.backward([dy]);
            return (y.detach(), x.grad!, norm.parameters().First().grad!.clone());
        }
        var reference = Pass(false);
        var bridged = Pass(true);
        var errors = new Dictionary<string, double>
        {
            ["y"] = RelativeError([bridged.Y], [reference.Y]),
            ["dx"] = RelativeError([bridged.Dx], [reference.Dx]),
            ["dw"] = RelativeError([bridged.Dw], [reference.Dw]),
        };
        return Report(results, "rms_norm_vs_module", "rms_norm (ATen) vs the module's formula (float32)", errors, 1e-5);
    }

    // A shape ATen refuses (k 64 against 96): the C++ error must come back as AtenBridgeException with its text.
    private static int ErrorPath(Results results)
    {
        using var scope = NewDisposeScope();
        var a = randn(32, 64, device: Cuda).to(ScalarType.BFloat16);
        var b = randn(2, 96, 32, device: Cuda).to(ScalarType.BFloat16);
        var offsets = tensor(new[] { 16, 32 }, ScalarType.Int32, device: Cuda);
        string message;
        try
        {
            AtenOps.GroupedMm(a, b, offsets).Dispose();
            message = "";
        }
        catch (AtenBridgeException e)
        {
            message = e.Message;
        }
        var ok = message.Length > 0;
        Results.Say($"{(ok ? "PASS" : "FAIL")} a C++ error comes back as AtenBridgeException: \"{(ok ? message.Split('\n')[0] : "no exception")}\"");
        results.Add("error_path", new JsonObject { ["message"] = message, ["pass"] = ok });
        return ok ? 0 : 1;
    }
}
