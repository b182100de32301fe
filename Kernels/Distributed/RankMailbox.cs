namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The messages that have reached one rank, keyed by (sequence, source). Transports deliver into
/// it from their own threads; the rank's executor thread takes from it, blocking with a timeout, so
/// a rank whose peer died is told so instead of waiting forever.
/// </summary>
public sealed class RankMailbox
{
    private readonly Dictionary<(long, int), CollectiveMessage> _messages = [];
    private readonly object _gate = new();
    private string? _abort;

    /// <summary>Stores a delivered message; an abort message breaks every current and later wait.</summary>
    public void Deliver(CollectiveMessage message)
    {
        lock (_gate)
        {
            if (message.Abort is not null) _abort ??= message.Abort;
            else _messages[(message.Sequence, message.Source)] = message;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Marks the mailbox aborted (this rank failed, or gave up on a peer).</summary>
    public void Abort(string reason) => Deliver(new CollectiveMessage(-1, -1, Abort: reason));

    public bool Aborted
    {
        get { lock (_gate) return _abort is not null; }
    }

    /// <summary>Waits for the message of <paramref name="sequence"/> from <paramref name="source"/>.</summary>
    public CollectiveMessage Take(long sequence, int source, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (true)
            {
                if (_abort is not null) throw new CollectiveAbortedException(_abort);
                if (_messages.Remove((sequence, source), out var message)) return message;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    _abort = $"no message from rank {source} for collective {sequence} within {timeout.TotalSeconds:F0} s";
                    throw new CollectiveAbortedException(_abort);
                }
                Monitor.Wait(_gate, left);
            }
        }
    }
}
