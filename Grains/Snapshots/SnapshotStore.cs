namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// What one node's holder keeps of one job's peer snapshots, in host memory: per source rank the newest snapshot known
/// complete and the one being written, nothing else (a snapshot's part drops the rank's other copies once its step is
/// in). Parts of a snapshot come in order; a snapshot is held whole when its last part is in. A part of an older epoch
/// than the newest seen is refused (a zombie rank of a past epoch cannot overwrite the copies a recovery reads).
/// Thread-safe: two activations of one holder (a directory entry lost with a dead silo) share it.
/// </summary>
public sealed class SnapshotStore
{
    private readonly Dictionary<int, Dictionary<long, Copy>> _byRank = [];
    private readonly Lock _gate = new();
    private long _epoch;

    /// <summary>The newest epoch that has written here.</summary>
    public long Epoch
    {
        get
        {
            lock (_gate) return _epoch;
        }
    }

    /// <summary>Bytes held, whole and partial.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate) return _byRank.Values.SelectMany(c => c.Values).Sum(c => c.Received);
        }
    }

    /// <summary>Stores <paramref name="part"/> of <paramref name="epoch"/>.</summary>
    /// <exception cref="StaleEpochException">An older epoch than one seen.</exception>
    /// <exception cref="ArgumentException">A part out of order or malformed.</exception>
    public void Put(long epoch, SnapshotPart part)
    {
        ArgumentNullException.ThrowIfNull(part);
        lock (_gate) PutLocked(epoch, part);
    }

    private void PutLocked(long epoch, SnapshotPart part)
    {
        if (epoch < _epoch) throw new StaleEpochException($"the snapshot holder (rank {part.Rank}, step {part.Step})", _epoch, epoch);
        if (part.Count < 1 || part.Index < 0 || part.Index >= part.Count)
            throw new ArgumentException($"part {part.Index} of {part.Count} of rank {part.Rank}'s snapshot of step {part.Step} is not a part", nameof(part));
        _epoch = epoch;
        if (!_byRank.TryGetValue(part.Rank, out var copies)) _byRank[part.Rank] = copies = [];
        if (part.Index == 0)
        {
            if (part.Tensors is null || part.StateJson is null)
                throw new ArgumentException($"the first part of rank {part.Rank}'s snapshot of step {part.Step} has no tensor names or state", nameof(part));
            // A new snapshot of this rank: only it and the newest complete one (the sender's Keep) stay.
            foreach (var step in copies.Keys.Where(s => s != part.Keep).ToList()) copies.Remove(step);
            copies[part.Step] = new Copy(epoch, part.Count, part.Tensors, part.StateJson, part.Reports ?? []);
        }

        if (!copies.TryGetValue(part.Step, out var copy) || copy.Epoch != epoch || copy.Parts.Count != part.Index || copy.Count != part.Count)
            throw new ArgumentException($"part {part.Index} of rank {part.Rank}'s snapshot of step {part.Step} (epoch {epoch}) came out of order", nameof(part));
        copy.Parts.Add(part.Data);
        copy.Received += part.Data.Length;
    }

    /// <summary>The snapshots held whole.</summary>
    public IReadOnlyList<HeldSnapshot> Inventory()
    {
        lock (_gate)
        {
            return
            [
                .. _byRank.OrderBy(r => r.Key).SelectMany(r => r.Value.OrderBy(c => c.Key)
                    .Where(c => c.Value.Whole)
                    .Select(c => new HeldSnapshot(r.Key, c.Key, c.Value.Epoch, c.Value.Received, c.Value.Count, c.Value.Tensors, c.Value.StateJson) { Reports = c.Value.Reports })),
            ];
        }
    }

    /// <summary>How many snapshots of <paramref name="rank"/> are kept, whole or partial.</summary>
    public int CopiesOf(int rank)
    {
        lock (_gate) return _byRank.TryGetValue(rank, out var copies) ? copies.Count : 0;
    }

    /// <summary>Part <paramref name="index"/> of <paramref name="rank"/>'s whole snapshot of <paramref name="step"/>.</summary>
    /// <exception cref="KeyNotFoundException">Not held whole (dropped, or still being written).</exception>
    public byte[] Read(int rank, long step, int index)
    {
        lock (_gate)
        {
            if (_byRank.TryGetValue(rank, out var copies) && copies.TryGetValue(step, out var copy) && copy.Whole && index >= 0 && index < copy.Count)
                return copy.Parts[index];
        }

        throw new KeyNotFoundException($"no whole snapshot of rank {rank} at step {step} (part {index}) is held here");
    }

    /// <summary>Drops everything.</summary>
    public void Clear()
    {
        lock (_gate) _byRank.Clear();
    }

    private sealed class Copy(long epoch, int count, IReadOnlyList<string> tensors, string stateJson, IReadOnlyList<StepMetrics> reports)
    {
        public IReadOnlyList<StepMetrics> Reports { get; } = reports;
        public long Epoch { get; } = epoch;
        public int Count { get; } = count;
        public IReadOnlyList<string> Tensors { get; } = tensors;
        public string StateJson { get; } = stateJson;
        public List<byte[]> Parts { get; } = [];
        public long Received { get; set; }
        public bool Whole => Parts.Count == Count;
    }
}
