using Microsoft.Extensions.Time.Testing;
using Orchestrator.Grains.Resilience;

namespace Orchestrator.Grains.Tests.Resilience;

public sealed class RetryTests
{
    [Fact]
    public void Backoff_DoublesFromTheFirstWaitUpToTheLast()
    {
        var backoff = new BackoffOptions { FirstRetry = TimeSpan.FromMilliseconds(250), LastRetry = TimeSpan.FromSeconds(4) };
        var waits = Enumerable.Range(0, 7).Select(a => backoff.DelayAfter(a).TotalMilliseconds).ToArray();
        Assert.Equal([250, 500, 1000, 2000, 4000, 4000, 4000], waits);
    }

    [Fact]
    public async Task TransientFailures_AreRetriedUntilTheCallSucceeds()
    {
        var time = new WaitingClock();
        var retried = new List<(int Attempt, TimeSpan Wait)>();
        var retry = new Retry(new BackoffOptions { FirstRetry = TimeSpan.FromSeconds(1), LastRetry = TimeSpan.FromSeconds(4) },
            e => e is TimeoutException, (_, attempt, wait) => retried.Add((attempt, wait)), time);

        var run = retry.RunAsync(attempt => attempt < 4 ? throw new TimeoutException($"attempt {attempt}") : Task.FromResult(attempt));
        var result = await Drive(run, time);

        Assert.Equal(4, result);
        Assert.Equal([(1, TimeSpan.FromSeconds(1)), (2, TimeSpan.FromSeconds(2)), (3, TimeSpan.FromSeconds(4))], retried);
    }

    [Fact]
    public async Task APermanentFailure_IsNotRetried()
    {
        var attempts = 0;
        var retry = new Retry(new BackoffOptions(), e => e is TimeoutException);
        var failure = await Assert.ThrowsAsync<StaleEpochException>(() => retry.RunAsync(() =>
        {
            attempts++;
            throw new StaleEpochException("job j", 2, 1);
        }));
        Assert.Equal(1, attempts);
        Assert.Contains("job j", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Patience_GivesUpBeforeAWaitThatWouldEndPastIt()
    {
        // Waits 1, 2, 4 s: the attempts fail at 0, 1, 3 and 7 s; a fifth would start at 11 s, past the 10 s.
        var time = new WaitingClock();
        var attempts = 0;
        var retry = new Retry(new BackoffOptions { FirstRetry = TimeSpan.FromSeconds(1), LastRetry = TimeSpan.FromSeconds(4), Patience = TimeSpan.FromSeconds(10) },
            _ => true, time: time);

        var run = retry.RunAsync(() => Task.FromException(new TimeoutException($"attempt {++attempts}")));
        var failure = await Assert.ThrowsAsync<TimeoutException>(() => Drive(run, time));

        Assert.Equal(4, attempts);
        Assert.Equal("attempt 4", failure.Message);
    }

    [Fact]
    public async Task MaxAttempts_CountsTheFirstAttempt()
    {
        var time = new WaitingClock();
        var attempts = 0;
        var retry = new Retry(new BackoffOptions { FirstRetry = TimeSpan.FromSeconds(1), LastRetry = TimeSpan.FromSeconds(1), MaxAttempts = 5 }, _ => true, time: time);

        var run = retry.RunAsync(() => Task.FromException(new InvalidOperationException($"attempt {++attempts}")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Drive(run, time));

        Assert.Equal(5, attempts);
    }

    [Theory]
    [InlineData(0, 1000, null, null, "X:FirstRetry")]
    [InlineData(500, 100, null, null, "X:LastRetry")]
    [InlineData(100, 100, 0, null, "X:Patience")]
    [InlineData(100, 100, null, 0, "X:MaxAttempts")]
    public void ImpossibleSettings_AreRefusedNamingTheSetting(int firstMs, int lastMs, int? patienceMs, int? attempts, string named)
    {
        var backoff = new BackoffOptions
        {
            FirstRetry = TimeSpan.FromMilliseconds(firstMs),
            LastRetry = TimeSpan.FromMilliseconds(lastMs),
            Patience = patienceMs is { } p ? TimeSpan.FromMilliseconds(p) : null,
            MaxAttempts = attempts,
        };
        var refusal = Assert.Throws<ArgumentException>(() => backoff.Validate("X"));
        Assert.StartsWith(named, refusal.Message, StringComparison.Ordinal);
    }

    /// <summary>Moves the fake clock on by each wait the retry starts, once it has started it, until the retried call has ended.</summary>
    private static async Task<T> Drive<T>(Task<T> run, WaitingClock time)
    {
        while (true)
        {
            var started = time.Started.Reader.ReadAsync().AsTask();
            if (await Task.WhenAny(run, started) == run) return await run;
            time.Advance(await started);
        }
    }

    private static async Task<bool> Drive(Task run, WaitingClock time) => await Drive(Wrap(run), time);

    private static async Task<bool> Wrap(Task run)
    {
        await run;
        return true;
    }

    /// <summary>A fake clock that says when a wait starts on it, and for how long, so a test moves time on exactly that much.</summary>
    private sealed class WaitingClock : TimeProvider
    {
        private readonly FakeTimeProvider _time = new();

        public global::System.Threading.Channels.Channel<TimeSpan> Started { get; } = global::System.Threading.Channels.Channel.CreateUnbounded<TimeSpan>();

        public void Advance(TimeSpan by) => _time.Advance(by);

        public override DateTimeOffset GetUtcNow() => _time.GetUtcNow();

        public override long GetTimestamp() => _time.GetTimestamp();

        public override long TimestampFrequency => _time.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = _time.CreateTimer(callback, state, dueTime, period);
            if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan) Started.Writer.TryWrite(dueTime);
            return timer;
        }
    }
}
