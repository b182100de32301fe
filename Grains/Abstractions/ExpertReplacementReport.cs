namespace Orchestrator.Grains;

/// <summary>A re-placement the ranks made (rank 0 reports it; the job stores it as an <c>expert-replacement</c> event).</summary>
/// <param name="Step">The step after which it was made (1-based: the step just completed); the next step uses <see cref="To"/>.</param>
/// <param name="From">The map before.</param>
/// <param name="To">The map after.</param>
/// <param name="RankLoadsBefore">Per MoE layer, each rank's tokens of that step under the old map.</param>
/// <param name="RankLoadsAfter">The same loads under the new map.</param>
/// <param name="Copies">Expert copies moved over all ranks.</param>
/// <param name="Bytes">Bytes moved over all ranks (weights and AdamW moments).</param>
/// <param name="Seconds">Rank 0's wall time of the move.</param>
[GenerateSerializer, Immutable]
public sealed record ExpertReplacementReport(
    [property: Id(0)] long Step,
    [property: Id(1)] ExpertMapView From,
    [property: Id(2)] ExpertMapView To,
    [property: Id(3)] double[][] RankLoadsBefore,
    [property: Id(4)] double[][] RankLoadsAfter,
    [property: Id(5)] int Copies,
    [property: Id(6)] long Bytes,
    [property: Id(7)] double Seconds);
