using TorchSharp;
using Orchestrator.Kernels.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// AdamW with decoupled weight decay (matrices only; norms and 1-D gains are not decayed).
/// Written here rather than taken from TorchSharp so that its state is addressable by parameter
/// name: an expert shard owns exactly its experts' moments, and checkpoints hold them by name. With the native
/// bridge loaded and the parameters on a GPU the update is ATen's fused kernel over the same moments
/// (<see cref="UsesFusedKernel"/>): the same formula, rounded differently (√v/√(1−β2^t) rather than √(v/(1−β2^t))).
/// </summary>
public sealed class AdamW : IDisposable
{
    private IReadOnlyList<(string Name, Parameter Parameter)> _parameters;
    private readonly Dictionary<string, (Tensor M, Tensor V)> _moments = new(StringComparer.Ordinal);
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;
    private readonly double _weightDecay;
    private Tensor? _step;

    public AdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, double beta1, double beta2, double eps, double weightDecay)
    {
        _parameters = parameters.ToArray();
        _beta1 = beta1;
        _beta2 = beta2;
        _eps = eps;
        _weightDecay = weightDecay;
        foreach (var (name, p) in _parameters) _moments[name] = (zeros_like(p), zeros_like(p));
    }

    /// <summary>Updates taken so far (bias correction uses it).</summary>
    public long Updates { get; private set; }

    /// <summary>Applies one update with learning rate <paramref name="lr"/>; parameters without a gradient are skipped.</summary>
    public void Step(double lr)
    {
        Updates++;
        var correction1 = 1 - Math.Pow(_beta1, Updates);
        var correction2 = 1 - Math.Pow(_beta2, Updates);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (UsesFusedKernel)
        {
            FusedStep(lr);
            return;
        }
        // Per-step values: held in using-variables so that they outlive every native call (see Scalars).
        using var decay = (1 - lr * _weightDecay).ToScalar();
        using var bias2 = correction2.ToScalar();
        using var step = (-lr / correction1).ToScalar();
        foreach (var (name, p) in _parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            var (m, v) = _moments[name];
            m.mul_(Scalars.Of(_beta1)).add_(g, alpha: Scalars.Of(1 - _beta1));
            v.mul_(Scalars.Of(_beta2)).addcmul_(g, g, value: Scalars.Of(1 - _beta2));
            if (_weightDecay > 0 && p.dim() >= 2) p.mul_(decay);
            var denominator = v.div(bias2).sqrt_().add_(Scalars.Of(_eps), Scalars.One);
            p.addcdiv_(m, denominator, value: step);
        }
    }

    /// <summary>
    /// True when <see cref="Step"/> runs ATen's fused multi-tensor AdamW through the native bridge (loaded and in use,
    /// every parameter on a GPU); otherwise it runs the per-parameter TorchSharp ops below.
    /// </summary>
    public bool UsesFusedKernel => AtenBridge.Uses(AtenOperations.FusedAdamW) && _parameters.Count > 0 && _parameters.All(x => x.Parameter.device_type == DeviceType.CUDA);

    // Two fused calls a step (matrices with weight decay, the rest without); the update count lives in one device
    // tensor that both read, written by a fill (no host synchronisation).
    private void FusedStep(double lr)
    {
        _step ??= zeros(1, ScalarType.Float32, device: _parameters[0].Parameter.device).DetachFromDisposeScope(); // lives with the optimizer
        using var updates = ((double)Updates).ToScalar();
        _step.fill_(updates);
        var groups = new[] { new Group(), new Group() };
        foreach (var (name, p) in _parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            var (m, v) = _moments[name];
            groups[_weightDecay > 0 && p.dim() >= 2 ? 0 : 1].Add(p, g, m, v);
        }
        for (var i = 0; i < groups.Length; i++)
        {
            if (groups[i].Parameters.Count == 0) continue;
            AtenOps.FusedAdamW(groups[i].Parameters, groups[i].Gradients, groups[i].First, groups[i].Second, _step, lr, _beta1, _beta2,
                i == 0 ? _weightDecay : 0, _eps);
        }
    }

    private sealed class Group
    {
        public List<Tensor> Parameters { get; } = [];
        public List<Tensor> Gradients { get; } = [];
        public List<Tensor> First { get; } = [];
        public List<Tensor> Second { get; } = [];

        public void Add(Tensor p, Tensor g, Tensor m, Tensor v)
        {
            Parameters.Add(p);
            Gradients.Add(g);
            First.Add(m);
            Second.Add(v);
        }
    }

    /// <summary>The first and second moments of parameter <paramref name="name"/>.</summary>
    public (Tensor M, Tensor V) Moments(string name) => _moments.TryGetValue(name, out var m)
        ? m : throw new ArgumentException($"the optimizer holds no parameter '{name}'", nameof(name));

    /// <summary>
    /// Takes the model's parameters after a re-placement moved experts: a parameter kept keeps its moments, one that
    /// arrived takes <paramref name="arrived"/>'s (owned by the optimizer from now on), and the moments of parameters
    /// gone are disposed.
    /// </summary>
    public void Rebind(IEnumerable<(string Name, Parameter Parameter)> parameters, IReadOnlyDictionary<string, (Tensor M, Tensor V)> arrived)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(arrived);
        var now = parameters.ToArray();
        var moments = new Dictionary<string, (Tensor M, Tensor V)>(StringComparer.Ordinal);
        foreach (var (name, _) in now)
            moments[name] = arrived.TryGetValue(name, out var m) ? m
                : _moments.TryGetValue(name, out var kept) ? kept
                : throw new ArgumentException($"parameter '{name}' arrived without its moments", nameof(arrived));
        foreach (var (name, (m, v)) in _moments)
        {
            if (moments.ContainsKey(name)) continue;
            m.Dispose();
            v.Dispose();
        }
        _moments.Clear();
        foreach (var (name, m) in moments) _moments[name] = m;
        _parameters = now;
    }

    /// <summary>Moments by parameter name, for checkpoints ("name.m", "name.v").</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State()
    {
        foreach (var (name, _) in _parameters)
        {
            var (m, v) = _moments[name];
            yield return (name + ".m", m);
            yield return (name + ".v", v);
        }
    }

    /// <summary>Restores moments and the update count saved by <see cref="State"/>.</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> state, long updates)
    {
        using var noGrad = no_grad();
        foreach (var (name, _) in _parameters)
        {
            var (m, v) = _moments[name];
            m.copy_(Require(state, name + ".m", m));
            v.copy_(Require(state, name + ".v", v));
        }
        Updates = updates;
    }

    private static Tensor Require(IReadOnlyDictionary<string, Tensor> state, string key, Tensor like)
    {
        if (!state.TryGetValue(key, out var t)) throw new InvalidDataException($"optimizer state has no '{key}'");
        if (!t.shape.SequenceEqual(like.shape)) throw new InvalidDataException($"optimizer state '{key}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", like.shape)}]");
        return t;
    }

    public void Dispose()
    {
        _step?.Dispose();
        foreach (var (m, v) in _moments.Values)
        {
            m.Dispose();
            v.Dispose();
        }
    }
}
