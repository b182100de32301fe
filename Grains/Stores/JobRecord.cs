namespace Orchestrator.Grains.Storage;

/// <summary>A job as recorded in the index.</summary>
/// <param name="Id">The job id.</param>
/// <param name="SpecJson">The job spec, exactly as submitted.</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Epoch">The fencing epoch: bumped by every recovery, carried by every rank-level call.</param>
/// <param name="CreatedAt">When it was submitted.</param>
/// <param name="UpdatedAt">When its state last changed.</param>
/// <param name="Error">Why it failed, if it did.</param>
public sealed record JobRecord(
    string Id,
    string SpecJson,
    JobPhase State,
    long Epoch,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? Error);
