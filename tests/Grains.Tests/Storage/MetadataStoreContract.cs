using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>
/// What every metadata store must do, run against each engine by a subclass that says how to open a store
/// on a database of its own. One partial file per store interface (<c>.Jobs</c>, <c>.Metrics</c>,
/// <c>.Nodes</c>, <c>.Checkpoints</c>), each test calling through the interface alone; this file holds what
/// crosses them (missing jobs, bad input, reopening) and <c>.Services</c> the registration.
/// </summary>
public abstract partial class MetadataStoreContract : IAsyncLifetime
{
    private const string Spec = """{"model": "tiny", "parallelism": {"pp": 1, "ep": 2, "dp": 1}, "fp8": true}""";

    private SqlMetadataStore? _store;

    /// <summary>The clock the store stamps with; it moves only when a test advances it.</summary>
    protected ManualClock Clock { get; } = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private SqlMetadataStore Store => _store ?? throw new InvalidOperationException("not initialised");

    // The store as each caller sees it: the tests reach the store only through these.
    private IJobStore Jobs => Store;

    private IMetricStore Metrics => Store;

    private INodeStore Nodes => Store;

    private ICheckpointIndex Checkpoints => Store;

    /// <inheritdoc />
    public async Task InitializeAsync() => _store = await OpenStoreAsync(Clock);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        await CleanUpAsync();
    }

    /// <summary>Opens a store on this test's database (the same database every time it is called).</summary>
    protected abstract Task<SqlMetadataStore> OpenStoreAsync(TimeProvider clock);

    /// <summary>Removes the test's database, if the engine needs that.</summary>
    protected virtual Task CleanUpAsync() => Task.CompletedTask;

    [Fact]
    public async Task OperationsOnAMissingJob_SayWhichJob()
    {
        var append = await Assert.ThrowsAsync<KeyNotFoundException>(() => Jobs.AppendJobEventAsync("ghost", "started"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Jobs.ListJobEventsAsync("ghost"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Metrics.AppendMetricsAsync("ghost", [new MetricSample(0, "loss", 1, Clock.GetUtcNow())]));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Metrics.QueryMetricsAsync("ghost", MetricQuery.All));
        Assert.Contains("ghost", append.Message, StringComparison.Ordinal);
        Assert.Empty(await Jobs.ListJobsAsync());
    }

    [Fact]
    public async Task BadInput_NamesWhatIsWrong_AndChangesNothing()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);
        await Jobs.AppendJobEventAsync("job-1", "submitted");
        await Metrics.AppendMetricsAsync("job-1", [new MetricSample(0, "loss", 1, Clock.GetUtcNow())]);
        await Nodes.UpsertNodeAsync(new NodeRegistration("n1", "h", [DeviceSlot.Parse("cpu:0")]));
        var before = await SnapshotAsync();

        await AssertRejected("id", () => Jobs.TryCreateJobAsync("bad/id", Spec));
        await AssertRejected("id", () => Jobs.TryCreateJobAsync("", Spec));
        await AssertRejected("specJson", () => Jobs.TryCreateJobAsync("job-2", "{not json"));
        await AssertRejected("node.Devices", () => Nodes.UpsertNodeAsync(new NodeRegistration("n1", "h2", [DeviceSlot.Parse("cpu:0"), DeviceSlot.Parse("cpu:0")])));
        await AssertRejected("node.Devices", () => Nodes.UpsertNodeAsync(new NodeRegistration("n1", "h2", [new DeviceSlot(DeviceKind.Cuda, -1)])));
        await AssertRejected("node.Host", () => Nodes.UpsertNodeAsync(new NodeRegistration("n1", " ", [])));
        await AssertRejected("transition.NewEpoch", () => Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, -1)));
        await AssertRejected("transition.NewState", () => Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, (JobPhase)99, 1)));
        await AssertRejected("detailJson", () => Jobs.AppendJobEventAsync("job-1", "planned", "[1, 2"));
        await AssertRejected("kind", () => Jobs.AppendJobEventAsync("job-1", ""));

        // One bad sample in a batch: none of the batch is kept.
        await AssertRejected("samples", () => Metrics.AppendMetricsAsync("job-1", [
            new MetricSample(1, "loss", 0.5, Clock.GetUtcNow()),
            new MetricSample(-1, "loss", 0.4, Clock.GetUtcNow()),
        ]));
        await AssertRejected("samples", () => Metrics.AppendMetricsAsync("job-1", [
            new MetricSample(1, "loss", 0.5, Clock.GetUtcNow()),
            new MetricSample(1, "loss", 0.4, Clock.GetUtcNow()),
        ]));

        Assert.Equal(before, await SnapshotAsync());
        Assert.Equal(2, (await Jobs.AppendJobEventAsync("job-1", "planned")).Seq);
    }

    [Fact]
    public async Task Reopening_KeepsTheData_AndAppliesNoMigrationTwice()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);

        await using var again = await OpenStoreAsync(Clock);

        Assert.Equal(Spec, (await again.GetJobAsync("job-1"))!.SpecJson);
        Assert.Null(await again.TryCreateJobAsync("job-1", Spec));
    }

    private static async Task AssertRejected(string paramName, Func<Task> act)
    {
        var error = await Assert.ThrowsAnyAsync<ArgumentException>(act);
        Assert.Equal(paramName, error.ParamName);
    }

    private async Task<string> SnapshotAsync()
    {
        var jobs = await Jobs.ListJobsAsync();
        var nodes = await Nodes.ListNodesAsync();
        var events = await Jobs.ListJobEventsAsync("job-1");
        var metrics = await Metrics.QueryMetricsAsync("job-1", MetricQuery.All);
        return string.Join(
            "\n",
            jobs.Select(j => j.ToString())
                .Concat(nodes.Select(n => $"{n} {string.Join(',', n.Devices.Select(d => d.Id))}"))
                .Concat(events.Select(e => e.ToString()))
                .Concat(metrics.Select(m => m.ToString())));
    }
}
