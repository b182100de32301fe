using System.Globalization;

namespace Orchestrator.Grains.Experts;

/// <summary>
/// An expert shard of one layer of one epoch (<see cref="IExpertShardGrain"/>), in memory: the last map's holdings and the
/// most recent <see cref="HistoryLength"/> steps' loads. A new epoch (after a recovery) is a new grain.
/// </summary>
public sealed class ExpertShardGrain : Grain, IExpertShardGrain
{
    /// <summary>Steps of load kept.</summary>
    public const int HistoryLength = 500;

    private readonly Queue<ShardLoad> _loads = new();
    private IReadOnlyList<ExpertCopy> _experts = [];
    private long _version = -1;

    /// <inheritdoc />
    public Task Update(ExpertShardUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.MapVersion >= _version)
        {
            _version = update.MapVersion;
            _experts = update.Experts;
        }
        foreach (var load in update.Loads) _loads.Enqueue(load);
        while (_loads.Count > HistoryLength) _loads.Dequeue();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ExpertShardState> GetState()
    {
        var parts = this.GetPrimaryKeyString().Split('/');
        if (parts.Length != 4) throw new InvalidOperationException($"'{this.GetPrimaryKeyString()}' is not an expert shard key (job/epoch/layer/shard)");
        return Task.FromResult(new ExpertShardState(parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture),
            int.Parse(parts[3], CultureInfo.InvariantCulture), _version, _experts, [.. _loads]));
    }
}
