using System.Diagnostics;
using Orchestrator.Grains.Telemetry;
using Orchestrator.Kernels.Distributed;
using static TorchSharp.torch;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A rank's collective with its bytes and time recorded (<see cref="DataPlaneInstruments"/>): the call goes to the
/// transport unchanged; the tag sets are built once per rank and collective, so a call costs two timestamps and two
/// recordings.
/// </summary>
internal sealed class MeteredCollective : ICollective
{
    private readonly ICollective _inner;
    private readonly KeyValuePair<string, object?>[] _allToAll;
    private readonly KeyValuePair<string, object?>[] _allGather;
    private readonly KeyValuePair<string, object?>[] _allReduce;

    /// <summary>Records <paramref name="inner"/>'s calls for <paramref name="job"/> over <paramref name="transport"/> (<c>grains</c>, <c>nccl</c>).</summary>
    public MeteredCollective(ICollective inner, string job, string transport)
    {
        _inner = inner;
        _allToAll = DataPlaneInstruments.Tags(job, "all_to_all", transport);
        _allGather = DataPlaneInstruments.Tags(job, "all_gather", transport);
        _allReduce = DataPlaneInstruments.Tags(job, "all_reduce", transport);
    }

    /// <inheritdoc />
    public int Rank => _inner.Rank;

    /// <inheritdoc />
    public int WorldSize => _inner.WorldSize;

    /// <inheritdoc />
    public Tensor AllToAll(Tensor rows, long[] sendCounts, long[] receiveCounts)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var start = Stopwatch.GetTimestamp();
        var result = _inner.AllToAll(rows, sendCounts, receiveCounts);
        DataPlaneInstruments.Record(start, rows.NumberOfElements * rows.ElementSize, _allToAll);
        return result;
    }

    /// <inheritdoc />
    public long[][] AllGather(long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var start = Stopwatch.GetTimestamp();
        var result = _inner.AllGather(values);
        DataPlaneInstruments.Record(start, values.LongLength * sizeof(long), _allGather);
        return result;
    }

    /// <inheritdoc />
    public void AllReduceSum(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var start = Stopwatch.GetTimestamp();
        _inner.AllReduceSum(tensor);
        DataPlaneInstruments.Record(start, tensor.NumberOfElements * tensor.ElementSize, _allReduce);
    }

    /// <inheritdoc />
    public void Abort(string reason) => _inner.Abort(reason);
}
