using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Resilience;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// Sends a rank's reports to its job in order, off the device thread: a step never waits for the
/// control plane. A failed report is retried with backoff for a while (the index restarting, the job
/// grain moving to another silo): every report is idempotent, and the order is kept because later
/// reports wait behind it (<see cref="RankOptions.ReportRetry"/>). A refusal (stale epoch, unknown job,
/// bad argument) is not retried.
/// </summary>
internal sealed partial class RankReporter
{
    private readonly Retry _retry;

    private readonly Channel<(Func<Task> Call, TaskCompletionSource Done)> _calls =
        Channel.CreateUnbounded<(Func<Task>, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly Task _pump;

    public RankReporter(ILogger logger, BackoffOptions retry)
    {
        _logger = logger;
        _retry = new Retry(retry, IsTransient, (e, attempt, _) => LogReportRetrying(e.Message, attempt));
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
        var attempts = 0;
        try
        {
            await _retry.RunAsync(async attempt =>
            {
                attempts = attempt;
                await call();
                return true;
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReportFailed(e, attempts);
        }
    }

    private static bool IsTransient(Exception e) => e is not (StaleEpochException or KeyNotFoundException or ArgumentException);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A rank report failed after {Attempts} attempt(s); it is dropped")]
    private partial void LogReportFailed(Exception exception, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "A rank report failed (attempt {Attempt}: {Reason}); retrying")]
    private partial void LogReportRetrying(string reason, int attempt);
}
