using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// Mixture-of-experts FFN: shared experts see every token; each token also goes to its top-k
/// routed experts. Tokens are grouped by expert (a stable sort, so the order is deterministic),
/// each expert runs once on its rows (a loop over experts, or with <c>grouped_experts</c> one padded
/// batched GEMM per projection: <see cref="GroupedExperts"/>, or with the native bridge loaded one grouped_mm per
/// projection over device offsets: <see cref="GroupedMmExperts"/>), and the outputs are combined with the gates.
/// </summary>
public sealed class MoeLayer : nn.Module
{
    private readonly ModelConfig _config;
    private readonly ExpertRouter _router;
    private readonly Parameter _gate;
    private readonly Tensor _bias;
    private readonly ExpertSet _experts;
    private readonly FeedForward? _shared;
    private readonly ExpertParallelism? _parallel;
    private ExpertLayerMap? _map;

    /// <summary>
    /// All routed experts here, or with <paramref name="parallel"/> only the ones its map (for MoE layer
    /// <paramref name="moeIndex"/>) gives this rank.
    /// </summary>
    public MoeLayer(string name, ModelConfig config, ExpertParallelism? parallel = null, int moeIndex = 0) : base(name)
    {
        _parallel = parallel;
        _map = parallel?.LayerMap(moeIndex);
        _config = config;
        _router = new ExpertRouter(config);
        var precision = GemmPrecisionNames.Parse(config.GemmPrecision);
        // Gating stays FP32 (V3 keeps it out of FP8).
        _gate = new Parameter(zeros(config.RoutedExperts, config.Dim, float32, device: ModuleDevice.Current));
        register_parameter("gate", _gate);
        _bias = zeros(config.RoutedExperts, float32, device: ModuleDevice.Current);
        register_buffer("expert_bias", _bias);
        _experts = new ExpertSet("experts", config.RoutedExperts, e => _map?.Holds(parallel!.Rank, e) ?? true,
            e => new FeedForward($"expert{e}", config.Dim, config.MoeInterDim, precision));
        register_module("experts", _experts);
        if (config.SharedExperts > 0)
        {
            _shared = new FeedForward("shared", config.Dim, config.SharedExperts * config.MoeInterDim, precision);
            register_module("shared", _shared);
        }
    }

    /// <summary>The aux-loss-free balancing bias b_i (a buffer: saved with the model, never trained by gradient).</summary>
    public Tensor ExpertBias => _bias;

    /// <summary>Routed expert <paramref name="index"/> (held by this rank).</summary>
    public FeedForward Expert(int index) => _experts[index];

    /// <summary>The physical ↔ logical expert map this layer routes by (null without expert parallelism).</summary>
    public ExpertLayerMap? Map => _map;

    /// <summary>Whether this rank holds a copy of routed expert <paramref name="index"/>.</summary>
    public bool Holds(int index) => _experts.Holds(index);

    /// <summary>The router of this layer.</summary>
    public ExpertRouter Router => _router;

    /// <summary>A new, zero copy of routed expert <paramref name="index"/> on <paramref name="device"/>, for a move to fill.</summary>
    internal FeedForward NewExpert(int index, Device device)
    {
        using var building = ModuleDevice.Use(device);
        return new FeedForward($"expert{index}", _config.Dim, _config.MoeInterDim, GemmPrecisionNames.Parse(_config.GemmPrecision));
    }

    /// <summary>
    /// Routes by <paramref name="map"/> from now on: takes on the <paramref name="arrived"/> copies and lets go of (and
    /// disposes) the experts the new map no longer gives this rank. Only between steps (a re-placement's fence).
    /// </summary>
    internal void Rehost(ExpertLayerMap map, IReadOnlyDictionary<int, FeedForward> arrived)
    {
        if (_parallel is null || _map is null) throw new InvalidOperationException("only an expert-parallel layer is re-placed");
        var rank = _parallel.Rank;
        foreach (var e in _map.Held(rank).Where(e => !map.Holds(rank, e)).ToArray()) _experts.Remove(e).Dispose();
        foreach (var (e, expert) in arrived) _experts.Add(e, expert);
        if (map.Held(rank).Any(e => !_experts.Holds(e))) throw new InvalidOperationException("a re-placement left an expert of the new map without its copy");
        _map = map;
    }

    /// <summary>Routes, runs experts, combines. Loads and the balance loss go to <paramref name="recorder"/> under <paramref name="moeIndex"/>.</summary>
    public Tensor Forward(Tensor x, RoutingRecorder recorder, int moeIndex)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var flat = x.reshape(b * t, d);
        var route = _router.Route(nn.functional.linear(flat, _gate), _bias);
        // The recorder owns the balance term until the loss is assembled: detach it from every dispose scope.
        var balance = _config.BalanceLossAlpha > 0 ? _router.BalanceLoss(route, b, t, _config.BalanceLossAlpha).DetachFromDisposeScope() : null;
        var loads = _router.Loads(route.Experts);
        recorder.Record(moeIndex, loads, balance);

        var grouped = GroupedExperts.Use(_config.GroupedExperts, flat);
        var routed = _parallel is null ? RunRoutedExperts(flat, route, loads, grouped) : ExpertParallelDispatch.Run(flat, route, loads, _experts, _parallel, _map!, grouped);
        var output = _shared is null ? routed : routed.add(_shared.forward(flat), Scalars.One);
        return output.view(b, t, d).MoveToOuterDisposeScope();
    }

    private Tensor RunRoutedExperts(Tensor flat, RouteDecision route, Tensor loads, bool grouped)
    {
        if (grouped && GroupedMmExperts.Supports(flat, _experts[0].Precision))
        {
            // The native bridge's grouped_mm: split sizes stay on the device (no host copy of the counts).
            var onDevice = ExpertRows.SortOnDevice(flat, route);
            var experts = Enumerable.Range(0, _config.RoutedExperts).Select(e => _experts[e]).ToArray();
            return onDevice.Combine(GroupedMmExperts.Run(onDevice.Rows, onDevice.SortedExperts!, loads, experts), route);
        }
        var sorted = ExpertRows.Sort(flat, route, loads);
        if (grouped)
        {
            var all = Enumerable.Range(0, sorted.Counts.Length).Select(e => _experts[e]).ToArray();
            return sorted.Combine(GroupedExperts.Run(sorted.Rows, sorted.Counts, all, GroupedExperts.Capacity(sorted.Counts)), route);
        }
        var outputs = new List<Tensor>(sorted.Counts.Length);
        long start = 0;
        for (var e = 0; e < sorted.Counts.Length; e++)
        {
            if (sorted.Counts[e] == 0) continue;
            outputs.Add(_experts[e].forward(sorted.Rows.narrow(0, start, sorted.Counts[e])));
            start += sorted.Counts[e];
        }
        return sorted.Combine(cat(outputs, 0), route);
    }
}
