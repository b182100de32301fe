using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>
/// What every <see cref="IMetadataStore"/> must do, run against each engine by a subclass that says how
/// to open a store on a database of its own.
/// </summary>
public abstract partial class MetadataStoreContract : IAsyncLifetime
{
    private const string Spec = """{"model": "tiny", "parallelism": {"pp": 1, "ep": 2, "dp": 1}, "fp8": true}""";

    private IMetadataStore? _store;

    /// <summary>The clock the store stamps with; it moves only when a test advances it.</summary>
    protected ManualClock Clock { get; } = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private IMetadataStore Store => _store ?? throw new InvalidOperationException("not initialised");

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
    protected abstract Task<IMetadataStore> OpenStoreAsync(TimeProvider clock);

    /// <summary>Removes the test's database, if the engine needs that.</summary>
    protected virtual Task CleanUpAsync() => Task.CompletedTask;

    [Fact]
    public async Task UpsertNode_ListsNodeWithItsDevicesInOrder()
    {
        await Store.UpsertNodeAsync(new NodeRegistration("n1", "host-a", [DeviceSlot.Parse("cuda:1"), DeviceSlot.Parse("cpu:0"), DeviceSlot.Parse("cuda:0")]));

        var node = Assert.Single(await Store.ListNodesAsync());
        Assert.Equal("n1", node.Name);
        Assert.Equal("host-a", node.Host);
        Assert.Equal(NodeStatus.Alive, node.Status);
        Assert.Equal(Clock.GetUtcNow(), node.LastSeen);
        Assert.Equal(["cpu:0", "cuda:0", "cuda:1"], node.Devices.Select(d => d.Id));
    }

    [Fact]
    public async Task UpsertNode_Again_ReplacesHostAndDevices()
    {
        await Store.UpsertNodeAsync(new NodeRegistration("n1", "host-a", [DeviceSlot.Parse("cuda:0"), DeviceSlot.Parse("cuda:1")]));
        await Store.MarkNodeAsync("n1", NodeStatus.Dead);
        Clock.Advance(TimeSpan.FromSeconds(5));

        await Store.UpsertNodeAsync(new NodeRegistration("n1", "host-b", [DeviceSlot.Parse("cpu:0")]));

        var node = Assert.Single(await Store.ListNodesAsync());
        Assert.Equal("host-b", node.Host);
        Assert.Equal(NodeStatus.Alive, node.Status);
        Assert.Equal(Clock.GetUtcNow(), node.LastSeen);
        Assert.Equal([new DeviceSlot(DeviceKind.Cpu, 0)], node.Devices);
    }

    [Fact]
    public async Task MarkNode_SwitchesBetweenDeadAndAlive_AndRefusesUnknownNodes()
    {
        await Store.UpsertNodeAsync(new NodeRegistration("n1", "h", [DeviceSlot.Parse("cpu:0")]));
        await Store.UpsertNodeAsync(new NodeRegistration("n2", "h", []));

        Assert.True(await Store.MarkNodeAsync("n2", NodeStatus.Dead));
        Assert.Equal([NodeStatus.Alive, NodeStatus.Dead], (await Store.ListNodesAsync()).Select(n => n.Status));
        Assert.True(await Store.MarkNodeAsync("n2", NodeStatus.Alive));
        Assert.All(await Store.ListNodesAsync(), n => Assert.Equal(NodeStatus.Alive, n.Status));
        Assert.False(await Store.MarkNodeAsync("n3", NodeStatus.Dead));
        Assert.Equal(2, (await Store.ListNodesAsync()).Count);
    }

    [Fact]
    public async Task CreateJob_IsPendingAtEpochZero_AndReadsBackExactly()
    {
        var created = await Store.TryCreateJobAsync("job-1", Spec);

        var read = await Store.GetJobAsync("job-1");
        Assert.NotNull(created);
        Assert.Equal(created, read);
        Assert.Equal(Spec, read!.SpecJson);
        Assert.Equal(JobPhase.Submitted, read.State);
        Assert.Equal(0, read.Epoch);
        Assert.Equal(Clock.GetUtcNow(), read.CreatedAt);
        Assert.Null(read.Error);
        Assert.Null(await Store.GetJobAsync("job-2"));
    }

    [Fact]
    public async Task CreateJob_WithDuplicateId_IsRefusedAndLeavesTheFirst()
    {
        await Store.TryCreateJobAsync("job-1", Spec);
        Assert.True(await Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, 1)));

        var duplicate = await Store.TryCreateJobAsync("job-1", """{"other": true}""");

        Assert.Null(duplicate);
        var job = await Store.GetJobAsync("job-1");
        Assert.Equal(Spec, job!.SpecJson);
        Assert.Equal(JobPhase.Running, job.State);
        Assert.Equal(1, job.Epoch);
    }

    [Fact]
    public async Task ListJobs_FiltersByState_OldestFirst()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            await Store.TryCreateJobAsync(id, Spec);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        await Store.TryTransitionJobAsync(new JobTransition("a", JobPhase.Submitted, 0, JobPhase.Running, 0));

        Assert.Equal(["c", "a", "b"], (await Store.ListJobsAsync()).Select(j => j.Id));
        Assert.Equal(["c", "b"], (await Store.ListJobsAsync(JobPhase.Submitted)).Select(j => j.Id));
        Assert.Equal(["a"], (await Store.ListJobsAsync(JobPhase.Running)).Select(j => j.Id));
        Assert.Empty(await Store.ListJobsAsync(JobPhase.Failed));
    }

    [Fact]
    public async Task Transition_MovesOnlyFromTheExpectedStateAndEpoch()
    {
        await Store.TryCreateJobAsync("job-1", Spec);
        Clock.Advance(TimeSpan.FromSeconds(3));

        Assert.True(await Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, 1)));
        Assert.False(await Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 1, JobPhase.Running, 2)));
        Assert.False(await Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Running, 0, JobPhase.Recovering, 2)));
        Assert.False(await Store.TryTransitionJobAsync(new JobTransition("no-such-job", JobPhase.Submitted, 0, JobPhase.Running, 1)));
        Assert.True(await Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Running, 1, JobPhase.Failed, 1, "node n2 lost twice")));

        var job = await Store.GetJobAsync("job-1");
        Assert.Equal(JobPhase.Failed, job!.State);
        Assert.Equal(1, job.Epoch);
        Assert.Equal("node n2 lost twice", job.Error);
        Assert.Equal(Clock.GetUtcNow(), job.UpdatedAt);
        Assert.True(job.UpdatedAt > job.CreatedAt);
    }

    [Fact]
    public async Task Transition_ConcurrentFromTheSameStateAndEpoch_ExactlyOneWins()
    {
        await Store.TryCreateJobAsync("job-1", Spec);
        await Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, 4));

        // Eight recoveries race to fence epoch 4 off; each would install its own epoch.
        var outcomes = await Task.WhenAll(Enumerable.Range(5, 8).Select(epoch =>
            Task.Run(() => Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Running, 4, JobPhase.Recovering, epoch)))));

        var winner = Assert.Single(Enumerable.Range(5, 8).Where((_, i) => outcomes[i]));
        var job = await Store.GetJobAsync("job-1");
        Assert.Equal(JobPhase.Recovering, job!.State);
        Assert.Equal(winner, job.Epoch);
    }

    [Fact]
    public async Task Events_AreNumberedFromOneInOrder_AndPageByAfterSeq()
    {
        await Store.TryCreateJobAsync("job-1", Spec);
        await Store.TryCreateJobAsync("job-2", Spec);
        var first = await Store.AppendJobEventAsync("job-1", "submitted");
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        await Store.AppendJobEventAsync("job-2", "submitted");
        await Store.AppendJobEventAsync("job-1", "planned", """{"ranks": 4}""");
        await Store.AppendJobEventAsync("job-1", "started");

        var all = await Store.ListJobEventsAsync("job-1");
        Assert.Equal([1L, 2L, 3L], all.Select(e => e.Seq));
        Assert.Equal(["submitted", "planned", "started"], all.Select(e => e.Kind));
        Assert.Equal(first, all[0]);
        Assert.Equal("""{"ranks": 4}""", all[1].DetailJson);
        Assert.Equal(Clock.GetUtcNow(), all[1].At);
        Assert.Equal([2L], (await Store.ListJobEventsAsync("job-1", afterSeq: 1, limit: 1)).Select(e => e.Seq));
        Assert.Equal([1L], (await Store.ListJobEventsAsync("job-2")).Select(e => e.Seq));
    }

    [Fact]
    public async Task Events_AppendedConcurrently_GetEveryNumberOnce()
    {
        await Store.TryCreateJobAsync("job-1", Spec);

        var appended = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(() => Store.AppendJobEventAsync("job-1", "rank-ready", $$"""{"rank": {{i}}}"""))));

        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), appended.Select(e => e.Seq).Order());
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), (await Store.ListJobEventsAsync("job-1")).Select(e => e.Seq));
    }

    [Fact]
    public async Task Metrics_QueryByNameAndSteps_KeepNaN_AndReplaceARepeatedStep()
    {
        await Store.TryCreateJobAsync("job-1", Spec);
        var at = Clock.GetUtcNow();
        await Store.AppendMetricsAsync("job-1", [
            new MetricSample(0, "loss", 10.5, at),
            new MetricSample(1, "loss", 9.25, at.AddSeconds(1)),
            new MetricSample(2, "loss", double.NaN, at.AddSeconds(2)),
            new MetricSample(0, "tokens_per_s", 1234.5, at),
        ]);

        // A step replayed after recovery reports again.
        await Store.AppendMetricsAsync("job-1", [new MetricSample(1, "loss", 9.0, at.AddSeconds(9))]);

        var loss = await Store.QueryMetricsAsync("job-1", new MetricQuery("loss"));
        Assert.Equal([0L, 1L, 2L], loss.Select(m => m.Step));
        Assert.Equal(9.0, loss[1].Value);
        Assert.Equal(at.AddSeconds(9), loss[1].At);
        Assert.True(double.IsNaN(loss[2].Value));
        Assert.Equal([1L, 2L], (await Store.QueryMetricsAsync("job-1", new MetricQuery("loss", FromStep: 1))).Select(m => m.Step));
        Assert.Equal(["loss", "loss", "tokens_per_s"], (await Store.QueryMetricsAsync("job-1", new MetricQuery(ToStep: 1))).Select(m => m.Name));
        Assert.Equal(4, (await Store.QueryMetricsAsync("job-1", MetricQuery.All)).Count);
    }

    [Fact]
    public async Task ExpertLoads_ReadBackByStepThenLayer_ReplaceARepeatedStep_AndKeepNaNBiases()
    {
        await Store.TryCreateJobAsync("job-1", Spec);
        var at = Clock.GetUtcNow();
        await Store.AppendExpertLoadsAsync("job-1", [
            new ExpertLoadSample(2, 1, [5, 0, 7], [0.25, double.NaN, -0.5], at),
            new ExpertLoadSample(2, 0, [1, 2, 3], [], at),
            new ExpertLoadSample(1, 0, [9, 9, 9], [0.125, 0, 0], at),
        ]);
        await Store.AppendExpertLoadsAsync("job-1", [new ExpertLoadSample(1, 0, [4, 4, 4], [1, 1, 1], at.AddSeconds(1))]);

        var all = await Store.QueryExpertLoadsAsync("job-1");
        Assert.Equal([(1L, 0), (2L, 0), (2L, 1)], all.Select(s => (s.Step, s.Layer)));
        Assert.Equal([4L, 4, 4], all[0].Loads);
        Assert.Equal(at.AddSeconds(1), all[0].At);
        Assert.Empty(all[1].Biases);
        Assert.Equal(0.25, all[2].Biases[0]);
        Assert.True(double.IsNaN(all[2].Biases[1]));
        Assert.Equal([2L, 2L], (await Store.QueryExpertLoadsAsync("job-1", fromStep: 2)).Select(s => s.Step));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Store.QueryExpertLoadsAsync("ghost"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendExpertLoadsAsync("job-1", [new ExpertLoadSample(3, 0, [-1], [], at)]));
        Assert.Equal(3, (await Store.QueryExpertLoadsAsync("job-1")).Count);
    }

    [Fact]
    public async Task OperationsOnAMissingJob_SayWhichJob()
    {
        var append = await Assert.ThrowsAsync<KeyNotFoundException>(() => Store.AppendJobEventAsync("ghost", "started"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Store.ListJobEventsAsync("ghost"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Store.AppendMetricsAsync("ghost", [new MetricSample(0, "loss", 1, Clock.GetUtcNow())]));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Store.QueryMetricsAsync("ghost", MetricQuery.All));
        Assert.Contains("ghost", append.Message, StringComparison.Ordinal);
        Assert.Empty(await Store.ListJobsAsync());
    }

    [Fact]
    public async Task BadInput_NamesWhatIsWrong_AndChangesNothing()
    {
        await Store.TryCreateJobAsync("job-1", Spec);
        await Store.AppendJobEventAsync("job-1", "submitted");
        await Store.AppendMetricsAsync("job-1", [new MetricSample(0, "loss", 1, Clock.GetUtcNow())]);
        await Store.UpsertNodeAsync(new NodeRegistration("n1", "h", [DeviceSlot.Parse("cpu:0")]));
        var before = await SnapshotAsync();

        await AssertRejected("id", () => Store.TryCreateJobAsync("bad/id", Spec));
        await AssertRejected("id", () => Store.TryCreateJobAsync("", Spec));
        await AssertRejected("specJson", () => Store.TryCreateJobAsync("job-2", "{not json"));
        await AssertRejected("node.Devices", () => Store.UpsertNodeAsync(new NodeRegistration("n1", "h2", [DeviceSlot.Parse("cpu:0"), DeviceSlot.Parse("cpu:0")])));
        await AssertRejected("node.Devices", () => Store.UpsertNodeAsync(new NodeRegistration("n1", "h2", [new DeviceSlot(DeviceKind.Cuda, -1)])));
        await AssertRejected("node.Host", () => Store.UpsertNodeAsync(new NodeRegistration("n1", " ", [])));
        await AssertRejected("transition.NewEpoch", () => Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, -1)));
        await AssertRejected("transition.NewState", () => Store.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, (JobPhase)99, 1)));
        await AssertRejected("detailJson", () => Store.AppendJobEventAsync("job-1", "planned", "[1, 2"));
        await AssertRejected("kind", () => Store.AppendJobEventAsync("job-1", ""));

        // One bad sample in a batch: none of the batch is kept.
        await AssertRejected("samples", () => Store.AppendMetricsAsync("job-1", [
            new MetricSample(1, "loss", 0.5, Clock.GetUtcNow()),
            new MetricSample(-1, "loss", 0.4, Clock.GetUtcNow()),
        ]));
        await AssertRejected("samples", () => Store.AppendMetricsAsync("job-1", [
            new MetricSample(1, "loss", 0.5, Clock.GetUtcNow()),
            new MetricSample(1, "loss", 0.4, Clock.GetUtcNow()),
        ]));

        Assert.Equal(before, await SnapshotAsync());
        Assert.Equal(2, (await Store.AppendJobEventAsync("job-1", "planned")).Seq);
    }

    [Fact]
    public async Task Reopening_KeepsTheData_AndAppliesNoMigrationTwice()
    {
        await Store.TryCreateJobAsync("job-1", Spec);

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
        var jobs = await Store.ListJobsAsync();
        var nodes = await Store.ListNodesAsync();
        var events = await Store.ListJobEventsAsync("job-1");
        var metrics = await Store.QueryMetricsAsync("job-1", MetricQuery.All);
        return string.Join(
            "\n",
            jobs.Select(j => j.ToString())
                .Concat(nodes.Select(n => $"{n} {string.Join(',', n.Devices.Select(d => d.Id))}"))
                .Concat(events.Select(e => e.ToString()))
                .Concat(metrics.Select(m => m.ToString())));
    }
}
