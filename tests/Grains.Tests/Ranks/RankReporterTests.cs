using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Grains.Ranks;
using Orchestrator.Grains.Resilience;

namespace Orchestrator.Grains.Tests.Ranks;

/// <summary>A rank's reports go in order, a passing failure is retried, a refusal is not, and patience ends the retries.</summary>
public sealed class RankReporterTests
{
    private static readonly BackoffOptions Quick = new()
    {
        FirstRetry = TimeSpan.FromMilliseconds(5), LastRetry = TimeSpan.FromMilliseconds(20), Patience = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task APassingFailure_IsRetried_AndLaterReportsWaitBehindIt()
    {
        var reporter = new RankReporter(NullLogger.Instance, Quick);
        var order = new List<string>();
        var failures = 2;
        var first = reporter.Post(() =>
        {
            lock (order) order.Add("first");
            return failures-- > 0 ? throw new TimeoutException("the job grain is moving") : Task.CompletedTask;
        });
        var second = reporter.Post(() =>
        {
            lock (order) order.Add("second");
            return Task.CompletedTask;
        });
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        await reporter.CompleteAsync();
        Assert.Equal(["first", "first", "first", "second"], order);
    }

    [Fact]
    public async Task ARefusal_IsNotRetried()
    {
        var reporter = new RankReporter(NullLogger.Instance, Quick);
        var calls = 0;
        await reporter.Post(() =>
        {
            calls++;
            throw new StaleEpochException("job j moved to epoch 3");
        }).WaitAsync(TimeSpan.FromSeconds(10));
        await reporter.CompleteAsync();
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task AFailureThatLasts_IsDroppedOncePatienceRunsOut()
    {
        var patient = new BackoffOptions { FirstRetry = TimeSpan.FromMilliseconds(5), LastRetry = TimeSpan.FromMilliseconds(10), Patience = TimeSpan.FromMilliseconds(200) };
        var reporter = new RankReporter(NullLogger.Instance, patient);
        var calls = 0;
        await reporter.Post(() =>
        {
            Interlocked.Increment(ref calls);
            throw new TimeoutException("the index is down");
        }).WaitAsync(TimeSpan.FromSeconds(10));
        var sent = false;
        await reporter.Post(() =>
        {
            sent = true;
            return Task.CompletedTask;
        }).WaitAsync(TimeSpan.FromSeconds(10));
        await reporter.CompleteAsync();
        Assert.InRange(calls, 2, 60);
        Assert.True(sent, "the report after a dropped one is still sent");
    }
}
