using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// Decides, at each step boundary, whether the routed experts are re-placed and where to (pure and deterministic: the
/// same loads give the same decisions). It keeps the last <see cref="ReplacementSettings.Window"/> steps' global loads;
/// a decision is due after every <see cref="ReplacementSettings.Every"/> steps, or after a step whose rank imbalance under
/// the map in use exceeds <see cref="ReplacementSettings.Imbalance"/> once a full window has passed since the last move.
/// The new map is <see cref="ExpertRebalancer"/>'s placement of the window's summed loads with its rank packs renumbered
/// to move the fewest copies (<see cref="ExpertRelabel"/>), one version on; none when it places every expert where it already is.
/// </summary>
public sealed class ExpertReplacementSchedule
{
    private readonly ReplacementSettings _settings;
    private readonly Queue<long[][]> _window = new();
    private long _lastMove = long.MinValue / 2;

    /// <summary>A schedule with no loads seen yet.</summary>
    public ExpertReplacementSchedule(ReplacementSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Window < 1) throw new ArgumentOutOfRangeException(nameof(settings), settings.Window, "a re-placement window is at least one step");
        _settings = settings;
    }

    /// <summary>
    /// The starting map of a job: the formula placement without redundant slots; with them, the rebalancer's placement
    /// of even loads (its deterministic fill of the extra slots), version 0.
    /// </summary>
    public static ExpertMap InitialMap(ReplacementSettings settings, int experts, int ranks, int layers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Redundant == 0) return ExpertMap.Identity(ExpertPlacement.Create(experts, ranks), layers);
        var even = Enumerable.Range(0, layers).Select(_ => Enumerable.Repeat(1.0, experts).ToArray()).ToArray();
        return ExpertMap.From(ExpertRebalancer.Rebalance(even, experts + settings.Redundant, settings.Groups, settings.Nodes, ranks), experts, ranks, 0);
    }

    /// <summary>Rank imbalance of <paramref name="loads"/> under <paramref name="map"/>: the worst layer's max rank load over the mean (1 when even or empty).</summary>
    public static double Imbalance(ExpertMap map, IReadOnlyList<long[]> loads)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(loads);
        return map.Layers.Select((layer, l) =>
        {
            var ranks = layer.RankLoads(loads[l].Select(x => (double)x).ToArray());
            var mean = ranks.Average();
            return mean > 0 ? ranks.Max() / mean : 1.0;
        }).DefaultIfEmpty(1.0).Max();
    }

    /// <summary>The map to move to after step <paramref name="step"/> (0-based), whose global loads are <paramref name="loads"/>; null to stay.</summary>
    public ExpertMap? Observe(long step, IReadOnlyList<long[]> loads, ExpertMap current)
    {
        ArgumentNullException.ThrowIfNull(loads);
        ArgumentNullException.ThrowIfNull(current);
        _window.Enqueue(loads.Select(l => (long[])l.Clone()).ToArray());
        while (_window.Count > _settings.Window) _window.Dequeue();
        var scheduled = _settings.Every > 0 && (step + 1) % _settings.Every == 0;
        var imbalanced = _settings.Imbalance > 0 && step - _lastMove >= _settings.Window && Imbalance(current, loads) > _settings.Imbalance;
        if (!scheduled && !imbalanced) return null;

        var summed = Enumerable.Range(0, loads.Count)
            .Select(l => Enumerable.Range(0, loads[l].Length).Select(e => (double)_window.Sum(w => w[l][e])).ToArray()).ToArray();
        var experts = current.Layers[0].Experts;
        var ranks = current.Ranks;
        var replacement = ExpertRebalancer.Rebalance(summed, experts + _settings.Redundant, _settings.Groups, _settings.Nodes, ranks);
        var placed = ExpertMap.From(replacement, experts, ranks, current.Version + 1);
        // Packs renumbered to keep the most copies where they are (within nodes when the placement kept groups on them).
        placed = ExpertRelabel.Keeping(placed, current, replacement.Hierarchical ? _settings.Nodes : 1);
        if (placed.SamePlacement(current)) return null;
        _lastMove = step;
        return placed;
    }
}
