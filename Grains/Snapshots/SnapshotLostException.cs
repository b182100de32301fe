namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// A rank could not read an in-memory shard from any of its holders (a holder's node died after the job chose the step):
/// the rank fails as retryable, and the next recovery, which no longer sees that copy, falls back to disk.
/// </summary>
public sealed class SnapshotLostException : Exception
{
    /// <summary>A snapshot lost for the reason in <paramref name="message"/>.</summary>
    public SnapshotLostException(string message) : base(message)
    {
    }

    /// <summary>A snapshot lost for the reason in <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public SnapshotLostException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>A snapshot lost.</summary>
    public SnapshotLostException() : base("an in-memory snapshot was lost")
    {
    }
}
