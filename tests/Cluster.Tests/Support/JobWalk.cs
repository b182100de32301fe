using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>Replays a job's history through the move table: which rows, in order, recorded it, and where that leaves the job.</summary>
public static class JobWalk
{
    /// <summary>The kinds of event that some move records (others — checkpoints, data-plane reports — are no moves).</summary>
    private static readonly HashSet<string> Recorded = JobMoves.All.SelectMany(m => m.Records).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The rows that recorded <paramref name="events"/>, from a new job on; fails naming the event that no row
    /// from the phase reached so far records.
    /// </summary>
    public static (IReadOnlyList<JobMove> Moves, JobPhase? Phase) Follow(IEnumerable<JobEventView> events)
    {
        var kinds = events.Select(e => e.Kind).Where(Recorded.Contains).ToList();
        var moves = new List<JobMove>();
        JobPhase? phase = null;
        for (var i = 0; i < kinds.Count;)
        {
            var at = i;
            var move = JobMoves.All
                .Where(m => m.From == phase && m.Records.Count <= kinds.Count - at && m.Records.SequenceEqual(kinds.Skip(at).Take(m.Records.Count)))
                .MaxBy(m => m.Records.Count)
                ?? throw new Xunit.Sdk.XunitException($"no move from {phase?.ToString() ?? "(new)"} records '{kinds[i]}' (history: {string.Join(", ", kinds)})");
            moves.Add(move);
            phase = move.To;
            i += move.Records.Count;
        }

        return (moves, phase);
    }
}
