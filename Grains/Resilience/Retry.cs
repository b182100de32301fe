using Polly;
using Polly.Retry;

namespace Orchestrator.Grains.Resilience;

/// <summary>
/// Every retry of the control plane goes through one Polly pipeline built here from a
/// <see cref="BackoffOptions"/>: which failures are worth another attempt is the caller's (a stale epoch
/// never is), how long and how often is the options'. What a caller sees is the call's own result, or
/// the last failure once the pipeline gives up.
/// </summary>
public sealed class Retry
{
    private static readonly ResiliencePropertyKey<long> Started = new("orchestrator.retry.started");
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _clock;

    /// <summary>A retry of the failures <paramref name="transient"/> accepts, as <paramref name="backoff"/> says.</summary>
    /// <param name="backoff">Waits and limits.</param>
    /// <param name="transient">Whether a failure may pass if tried again.</param>
    /// <param name="retrying">Told of each failure that will be retried: the exception, the attempt that failed (1 = the first), the wait.</param>
    /// <param name="time">The clock the waits run on (tests pass a fake one).</param>
    public Retry(BackoffOptions backoff, Func<Exception, bool> transient, Action<Exception, int, TimeSpan>? retrying = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(backoff);
        ArgumentNullException.ThrowIfNull(transient);
        var clock = _clock = time ?? TimeProvider.System;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && e is not OutOfMemoryException && transient(e)
                    && backoff.Allows(args.AttemptNumber, clock.GetElapsedTime(args.Context.Properties.GetValue(Started, clock.GetTimestamp())))),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(backoff.DelayAfter(args.AttemptNumber)),
                OnRetry = args =>
                {
                    retrying?.Invoke(args.Outcome.Exception!, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>Makes <paramref name="call"/> (given the attempt number, from 1) until it succeeds or the retry gives up.</summary>
    public async Task<T> RunAsync<T>(Func<int, Task<T>> call, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        // Continue on the caller's scheduler: in a grain, the retried call runs in the grain's turn, as the first did.
        var context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: true, cancellation);
        context.Properties.Set(Started, _clock.GetTimestamp());
        var attempt = 0;
        try
        {
            return await _pipeline.ExecuteAsync(async _ => await call(++attempt), context);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Makes <paramref name="call"/> until it succeeds or the retry gives up.</summary>
    public Task RunAsync(Func<Task> call, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        return RunAsync(async _ =>
        {
            await call();
            return true;
        }, cancellation);
    }
}
