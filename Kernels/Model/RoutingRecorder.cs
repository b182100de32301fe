using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// Collects what the MoE layers report during forward passes: the balance-loss terms of this
/// pass (with grad) and the per-expert loads summed over every micro-batch of the step.
/// </summary>
public sealed class RoutingRecorder : IDisposable
{
    private readonly long[][] _loads;
    private readonly List<Tensor> _balanceTerms = [];
    private readonly Device _device;

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

    /// <summary>Loads summed since the last <see cref="ResetLoads"/>, [moe layer][expert].</summary>
    public IReadOnlyList<long[]> Loads => _loads;

    internal void Record(int moeLayer, Tensor loads, Tensor? balanceLoss)
    {
        var counts = loads.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var row = _loads[moeLayer];
        for (var i = 0; i < row.Length; i++) row[i] += counts[i];
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
    }

    public void Dispose()
    {
        foreach (var t in _balanceTerms) t.Dispose();
        _balanceTerms.Clear();
    }
}
