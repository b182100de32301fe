using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Distributed;
using Orleans.Placement;

namespace Orchestrator.Grains.Balancing;

/// <summary>
/// The job's expert-bias authority. Placed on the silo of its first caller (rank 0), so the per-step
/// round trip stays in-process there. State lives in memory: after a loss of its silo the next epoch's
/// rank 0 begins it again from the biases of the checkpoint it resumed from.
/// </summary>
[PreferLocalPlacement]
public sealed class LoadBalancerGrain : Grain, ILoadBalancerGrain
{
    /// <summary>How many steps of MaxVio history it keeps.</summary>
    public const int HistoryLength = 1000;

    private readonly Queue<BalanceSample> _history = new();
    private long _epoch;
    private long _step;
    private float[][] _biases = [];
    private ExpertReplacementSchedule? _placement;
    private long _placementEpoch = -1;
    private List<ShardLoad>[][] _pendingShardLoads = [];

    /// <inheritdoc />
    public Task Begin(long epoch, long step, IReadOnlyList<float[]> biases)
    {
        ArgumentNullException.ThrowIfNull(biases);
        if (epoch < _epoch) throw new StaleEpochException($"load balancer of job {this.GetPrimaryKeyString()}", _epoch, epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        _epoch = epoch;
        _step = step;
        _biases = biases.Select(b => (float[])b.Clone()).ToArray();
        while (_history.Count > 0 && _history.Peek().Step > step) _history.Dequeue();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<float[]>> Update(long epoch, long step, IReadOnlyList<long[]> loads, double gamma)
    {
        ArgumentNullException.ThrowIfNull(loads);
        if (epoch != _epoch) throw new StaleEpochException($"load balancer of job {this.GetPrimaryKeyString()}", _epoch, epoch);
        if (step != _step)
            throw new InvalidOperationException($"the loads are of step {step} but the load balancer of job {this.GetPrimaryKeyString()} expects step {_step}");
        if (loads.Count != _biases.Length || loads.Where((l, i) => l.Length != _biases[i].Length).Any())
            throw new ArgumentException($"loads cover [{string.Join(", ", loads.Select(l => l.Length))}] experts per layer; the balancer holds [{string.Join(", ", _biases.Select(b => b.Length))}]", nameof(loads));

        _biases = LocalBiasAuthority.Instance.Update(step, loads, gamma, _biases);
        _step = step + 1;
        _history.Enqueue(new BalanceSample(_step, loads.Select(l => ExpertBalance.MaxViolation(l)).ToArray()));
        while (_history.Count > HistoryLength) _history.Dequeue();
        return Task.FromResult<IReadOnlyList<float[]>>(_biases);
    }

    /// <inheritdoc />
    public Task<ExpertMapView?> Replace(long epoch, ExpertPlacementRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (epoch != _epoch) throw new StaleEpochException($"load balancer of job {this.GetPrimaryKeyString()}", _epoch, epoch);
        var b = request.Balancing;
        if (_placement is null || _placementEpoch != epoch)
        {
            // A new epoch (a recovery, a resume) begins its window afresh, from the step it resumed at.
            _placement = new ExpertReplacementSchedule(new ReplacementSettings(b.Every, b.Imbalance, b.Window, request.Redundant, request.Groups, b.Nodes));
            _placementEpoch = epoch;
            _pendingShardLoads = [];
        }
        var experts = request.Loads[0].Length;
        var ranks = request.Ranks;
        var current = new ExpertMap(request.Current.Version, request.Current.Slots.Select(s => ExpertLayerMap.Create(experts, ranks, s)).ToArray());
        var decided = _placement.Observe(request.Step, request.Loads, current); // pure and small: fine on the grain's turn
        UpdateShards(epoch, request, current, decided ?? current, fresh: _pendingShardLoads.Length == 0 || decided is not null);
        return Task.FromResult(decided is null ? null : new ExpertMapView(decided.Version, decided.ToSlots()));
    }

    /// <summary>Most shards updated every step; more than this are updated once a window (and at each move).</summary>
    public const int ShardsUpdatedEachStep = 64;

    /// <summary>
    /// Tells the job's <see cref="IExpertShardGrain"/>s their loads of the step (under <paramref name="ran"/>) and what they hold
    /// under <paramref name="next"/>: one one-way call per shard, each step for a small job, else once a window and at moves.
    /// </summary>
    private void UpdateShards(long epoch, ExpertPlacementRequest request, ExpertMap ran, ExpertMap next, bool fresh)
    {
        var layers = ran.Layers.Count;
        if (_pendingShardLoads.Length != layers || fresh && _pendingShardLoads.Length == 0)
            _pendingShardLoads = [.. Enumerable.Range(0, layers).Select(_ => Enumerable.Range(0, ran.Ranks).Select(_ => new List<ShardLoad>()).ToArray())];
        for (var l = 0; l < layers; l++)
        {
            var loads = ran.Layers[l].RankLoads([.. request.Loads[l].Select(x => (double)x)]);
            for (var r = 0; r < ran.Ranks; r++) _pendingShardLoads[l][r].Add(new ShardLoad(request.Step + 1, loads[r]));
        }
        var due = fresh || layers * ran.Ranks <= ShardsUpdatedEachStep || (request.Step + 1) % request.Balancing.Window == 0;
        if (!due) return;
        var job = this.GetPrimaryKeyString();
        for (var l = 0; l < layers; l++)
        {
            var map = next.Layers[l];
            for (var r = 0; r < ran.Ranks; r++)
            {
                var held = map.Held(r).Select(e => new ExpertCopy(e, map.Hosts(e).ToList().IndexOf(r), map.Hosts(e).Count)).ToArray();
                var pending = _pendingShardLoads[l][r].ToArray();
                _pendingShardLoads[l][r].Clear();
                _ = GrainFactory.GetGrain<IExpertShardGrain>(IExpertShardGrain.KeyOf(job, epoch, l, r)).Update(new ExpertShardUpdate(next.Version, held, pending));
            }
        }
    }

    /// <inheritdoc />
    public Task<BalancerState> GetState() =>
        Task.FromResult(new BalancerState(_epoch, _step, _biases, _history.ToList()));
}
