using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// Sends a rank's reports to its job in order, off the device thread: a step never waits for the
/// control plane. A failed report is retried with backoff for a while (the index restarting, the job
/// grain moving to another silo): every report is idempotent, and the order is kept because later
/// reports wait behind it. A refusal (stale epoch) is not retried.
/// </summary>
internal sealed partial class RankReporter
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(4);

    private readonly Channel<(Func<Task> Call, TaskCompletionSource Done)> _calls =
        Channel.CreateUnbounded<(Func<Task>, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly Task _pump;

    public RankReporter(ILogger logger)
    {
        _logger = logger;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>Queues <paramref name="call"/>; the task completes once it was made (or given up: dropped, or never sent).</summary>
    public Task Post(Func<Task> call)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_calls.Writer.TryWrite((call, done))) done.TrySetResult();
        return done.Task;
    }

    /// <summary>Sends what is queued, then stops.</summary>
    public Task CompleteAsync()
    {
        _calls.Writer.TryComplete();
        return _pump;
    }

    private async Task PumpAsync()
    {
        await foreach (var (call, done) in _calls.Reader.ReadAllAsync())
        {
            await SendAsync(call);
            done.TrySetResult();
        }
    }

    private async Task SendAsync(Func<Task> call)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var delay = FirstRetry;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception e) when (e is StaleEpochException or KeyNotFoundException or ArgumentException)
            {
                LogReportFailed(e, attempt);
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (clock.Elapsed + delay > Patience)
                {
                    LogReportFailed(e, attempt);
                    return;
                }

                LogReportRetrying(e.Message, attempt);
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRetry.Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A rank report failed after {Attempts} attempt(s); it is dropped")]
    private partial void LogReportFailed(Exception exception, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "A rank report failed (attempt {Attempt}: {Reason}); retrying")]
    private partial void LogReportRetrying(string reason, int attempt);
}
