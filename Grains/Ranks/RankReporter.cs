using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// Sends a rank's reports to its job in order, off the device thread: a step never waits for the
/// control plane, and a job grain that is moving (its silo died) costs the rank nothing but a log line.
/// </summary>
internal sealed partial class RankReporter
{
    private readonly Channel<Func<Task>> _calls = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly Task _pump;

    public RankReporter(ILogger logger)
    {
        _logger = logger;
        _pump = Task.Run(PumpAsync);
    }

    public void Post(Func<Task> call) => _calls.Writer.TryWrite(call);

    /// <summary>Sends what is queued, then stops.</summary>
    public Task CompleteAsync()
    {
        _calls.Writer.TryComplete();
        return _pump;
    }

    private async Task PumpAsync()
    {
        await foreach (var call in _calls.Reader.ReadAllAsync())
        {
            try
            {
                await call();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogReportFailed(e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A rank report to its job failed")]
    private partial void LogReportFailed(Exception exception);
}
