using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Training;

/// <summary>Live expert re-placement: the trainer moves its routed experts between two steps.</summary>
public sealed partial class Trainer
{
    /// <summary>
    /// Re-places the routed experts to <paramref name="map"/> between two steps (<see cref="ExpertMoves"/>): every rank of
    /// the job calls it after the same step, with the same map; the next step routes by it.
    /// </summary>
    public ExpertMoveReport MoveExperts(ExpertMap map)
    {
        if (_parallel is null || ExpertMap is null) throw new InvalidOperationException("only an expert-parallel trainer re-places its experts");
        try
        {
            return Move(map);
        }
        catch (Exception e) when (e is not CollectiveAbortedException)
        {
            _parallel.World.Abort(e.Message);
            throw;
        }
    }

    private ExpertMoveReport Move(ExpertMap map)
    {
        var report = ExpertMoves.Apply(_model, _optimizer, _parallel!, ExpertMap!, map);
        ExpertMap = map;
        return report;
    }

    /// <summary>
    /// Decides after each step whether the experts move (every rank must be given one that answers alike, such as
    /// <see cref="BroadcastPlacementAuthority"/>); null: they stay where <see cref="ExpertMap"/> puts them. Expert
    /// parallelism only.
    /// </summary>
    public IExpertPlacementAuthority? Placement { get; init; }
}
