using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// Collects what the MoE layers report during forward passes: the balance-loss terms of this
/// pass (with grad) and the per-expert loads summed over every micro-batch of the step. Loads are summed
/// where they were computed (on the GPU, a [layers, E] counter on the device) and copied to the host once,
/// when <see cref="Loads"/> is first read after new records: no host synchronisation inside a forward pass.
/// </summary>
public sealed class RoutingRecorder : IDisposable
{
    private readonly long[][] _loads;
    private readonly List<Tensor> _balanceTerms = [];
    private readonly Device _device;
    private Tensor? _pending;
    private bool _unread;

    /// <summary>
    /// One load row per MoE layer (main model first, then MTP modules), each of <paramref name="experts"/> counts;
    /// an empty balance loss is a zero on <paramref name="device"/> (default: the CPU).
    /// </summary>
    public RoutingRecorder(int moeLayers, int experts, Device? device = null)
    {
        _device = device ?? CPU;
        _loads = new long[moeLayers][];
        for (var i = 0; i < moeLayers; i++) _loads[i] = new long[experts];
    }

    /// <summary>Loads summed since the last <see cref="ResetLoads"/>, [moe layer][expert] (one device-to-host copy after new records).</summary>
    public IReadOnlyList<long[]> Loads
    {
        get
        {
            if (_unread && _pending is not null)
            {
                using var host = _pending.cpu();
                var counts = host.data<long>().ToArray();
                var experts = _loads.Length == 0 ? 0 : _loads[0].Length;
                for (var layer = 0; layer < _loads.Length; layer++)
                    for (var i = 0; i < experts; i++) _loads[layer][i] += counts[(layer * experts) + i];
                _pending.zero_();
                _unread = false;
            }
            return _loads;
        }
    }

    internal void Record(int moeLayer, Tensor loads, Tensor? balanceLoss)
    {
        if (_loads.Length > 0)
        {
            var elsewhere = _pending is not null && (_pending.device_type != loads.device_type || _pending.device_index != loads.device_index);
            if (elsewhere) _ = Loads; // fold what is there before switching device
            if (_pending is null || elsewhere)
            {
                _pending?.Dispose();
                _pending = zeros([_loads.Length, _loads[0].Length], ScalarType.Int64, device: loads.device).DetachFromDisposeScope();
            }
            using var row = _pending.select(0, moeLayer);
            using var counts = loads.to(ScalarType.Int64);
            row.add_(counts, Scalars.One);
            _unread = true;
        }
        if (balanceLoss is not null) _balanceTerms.Add(balanceLoss);
    }

    /// <summary>Sum of the balance-loss terms recorded since the last call, then forgets them (the caller owns the result).</summary>
    public Tensor TakeBalanceLoss()
    {
        var total = _balanceTerms.Count == 0 ? zeros(1, dtype: ScalarType.Float32, device: _device).squeeze() : stack(_balanceTerms).sum();
        foreach (var t in _balanceTerms) t.Dispose();
        _balanceTerms.Clear();
        return total;
    }

    /// <summary>Starts a new step's load count.</summary>
    public void ResetLoads()
    {
        foreach (var row in _loads) Array.Clear(row);
        _pending?.zero_();
        _unread = false;
    }

    public void Dispose()
    {
        _pending?.Dispose();
        _pending = null;
        foreach (var t in _balanceTerms) t.Dispose();
        _balanceTerms.Clear();
    }
}
