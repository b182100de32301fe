using System.Diagnostics;
using Orchestrator.Grains.Telemetry;
using Orchestrator.Kernels.Distributed;
using static TorchSharp.torch;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A pipeline rank's stage link with its bytes and time recorded (<see cref="DataPlaneInstruments"/>, collectives
/// <c>send</c> and <c>recv</c>), as <see cref="MeteredCollective"/> does for the collectives: a send's time is its
/// hand-off (sends never wait for their receive), a receive's is its wait for the message, the pipeline's bubble
/// included.
/// </summary>
internal sealed class MeteredStageLink : IStageLink
{
    private readonly IStageLink _inner;
    private readonly KeyValuePair<string, object?>[] _send;
    private readonly KeyValuePair<string, object?>[] _receive;

    /// <summary>Records <paramref name="inner"/>'s transfers for <paramref name="job"/> over <paramref name="transport"/>.</summary>
    public MeteredStageLink(IStageLink inner, string job, string transport)
    {
        _inner = inner;
        _send = DataPlaneInstruments.Tags(job, "send", transport);
        _receive = DataPlaneInstruments.Tags(job, "recv", transport);
    }

    /// <inheritdoc />
    public int Rank => _inner.Rank;

    /// <inheritdoc />
    public int WorldSize => _inner.WorldSize;

    /// <inheritdoc />
    public void Send(int peer, StageMessageKey key, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var start = Stopwatch.GetTimestamp();
        _inner.Send(peer, key, tensor);
        DataPlaneInstruments.Record(start, tensor.NumberOfElements * tensor.ElementSize, _send);
    }

    /// <inheritdoc />
    public Tensor Receive(int peer, StageMessageKey key, Device device)
    {
        var start = Stopwatch.GetTimestamp();
        var tensor = _inner.Receive(peer, key, device);
        DataPlaneInstruments.Record(start, tensor.NumberOfElements * tensor.ElementSize, _receive);
        return tensor;
    }

    /// <inheritdoc />
    public void Abort(string reason) => _inner.Abort(reason);
}
