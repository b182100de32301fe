namespace Orchestrator.Kernels.Distributed;

/// <summary>A process group: its number (its sequence space in the mailboxes, its NCCL communicator) and its members, job ranks in group order.</summary>
/// <param name="Number">Unique among the job's groups.</param>
/// <param name="Members">Job ranks, in group order (a member's place is its rank in the group).</param>
public sealed record ProcessGroup(int Number, IReadOnlyList<int> Members)
{
    /// <summary>The place of job rank <paramref name="rank"/> in the group; -1 when it is not a member.</summary>
    public int IndexOf(int rank)
    {
        for (var i = 0; i < Members.Count; i++)
            if (Members[i] == rank) return i;
        return -1;
    }

    /// <summary>Same number and same members in the same order (a record compares the list by reference).</summary>
    public bool Equals(ProcessGroup? other) => other is not null && Number == other.Number && Members.SequenceEqual(other.Members);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Number, Members.Count);
}
