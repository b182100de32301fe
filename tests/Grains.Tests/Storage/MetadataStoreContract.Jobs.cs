using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The <see cref="IJobStore"/> part of the contract: jobs move only from where the caller expects them; events are numbered gap-free.</summary>
public abstract partial class MetadataStoreContract
{
    [Fact]
    public async Task CreateJob_IsPendingAtEpochZero_AndReadsBackExactly()
    {
        var created = await Jobs.TryCreateJobAsync("job-1", Spec);

        var read = await Jobs.GetJobAsync("job-1");
        Assert.NotNull(created);
        Assert.Equal(created, read);
        Assert.Equal(Spec, read!.SpecJson);
        Assert.Equal(JobPhase.Submitted, read.State);
        Assert.Equal(0, read.Epoch);
        Assert.Equal(Clock.GetUtcNow(), read.CreatedAt);
        Assert.Null(read.Error);
        Assert.Null(await Jobs.GetJobAsync("job-2"));
    }

    [Fact]
    public async Task CreateJob_WithDuplicateId_IsRefusedAndLeavesTheFirst()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);
        Assert.True(await Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, 1)));

        var duplicate = await Jobs.TryCreateJobAsync("job-1", """{"other": true}""");

        Assert.Null(duplicate);
        var job = await Jobs.GetJobAsync("job-1");
        Assert.Equal(Spec, job!.SpecJson);
        Assert.Equal(JobPhase.Running, job.State);
        Assert.Equal(1, job.Epoch);
    }

    [Fact]
    public async Task ListJobs_FiltersByState_OldestFirst()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            await Jobs.TryCreateJobAsync(id, Spec);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        await Jobs.TryTransitionJobAsync(new JobTransition("a", JobPhase.Submitted, 0, JobPhase.Running, 0));

        Assert.Equal(["c", "a", "b"], (await Jobs.ListJobsAsync()).Select(j => j.Id));
        Assert.Equal(["c", "b"], (await Jobs.ListJobsAsync(JobPhase.Submitted)).Select(j => j.Id));
        Assert.Equal(["a"], (await Jobs.ListJobsAsync(JobPhase.Running)).Select(j => j.Id));
        Assert.Empty(await Jobs.ListJobsAsync(JobPhase.Failed));
    }

    [Fact]
    public async Task Transition_MovesOnlyFromTheExpectedStateAndEpoch()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);
        Clock.Advance(TimeSpan.FromSeconds(3));

        Assert.True(await Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, 1)));
        Assert.False(await Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 1, JobPhase.Running, 2)));
        Assert.False(await Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Running, 0, JobPhase.Recovering, 2)));
        Assert.False(await Jobs.TryTransitionJobAsync(new JobTransition("no-such-job", JobPhase.Submitted, 0, JobPhase.Running, 1)));
        Assert.True(await Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Running, 1, JobPhase.Failed, 1, "node n2 lost twice")));

        var job = await Jobs.GetJobAsync("job-1");
        Assert.Equal(JobPhase.Failed, job!.State);
        Assert.Equal(1, job.Epoch);
        Assert.Equal("node n2 lost twice", job.Error);
        Assert.Equal(Clock.GetUtcNow(), job.UpdatedAt);
        Assert.True(job.UpdatedAt > job.CreatedAt);
    }

    [Fact]
    public async Task Transition_ConcurrentFromTheSameStateAndEpoch_ExactlyOneWins()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);
        await Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, 4));

        // Eight recoveries race to fence epoch 4 off; each would install its own epoch.
        var outcomes = await Task.WhenAll(Enumerable.Range(5, 8).Select(epoch =>
            Task.Run(() => Jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Running, 4, JobPhase.Recovering, epoch)))));

        var winner = Assert.Single(Enumerable.Range(5, 8).Where((_, i) => outcomes[i]));
        var job = await Jobs.GetJobAsync("job-1");
        Assert.Equal(JobPhase.Recovering, job!.State);
        Assert.Equal(winner, job.Epoch);
    }

    [Fact]
    public async Task Events_AreNumberedFromOneInOrder_AndPageByAfterSeq()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);
        await Jobs.TryCreateJobAsync("job-2", Spec);
        var first = await Jobs.AppendJobEventAsync("job-1", "submitted");
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        await Jobs.AppendJobEventAsync("job-2", "submitted");
        await Jobs.AppendJobEventAsync("job-1", "planned", """{"ranks": 4}""");
        await Jobs.AppendJobEventAsync("job-1", "started");

        var all = await Jobs.ListJobEventsAsync("job-1");
        Assert.Equal([1L, 2L, 3L], all.Select(e => e.Seq));
        Assert.Equal(["submitted", "planned", "started"], all.Select(e => e.Kind));
        Assert.Equal(first, all[0]);
        Assert.Equal("""{"ranks": 4}""", all[1].DetailJson);
        Assert.Equal(Clock.GetUtcNow(), all[1].At);
        Assert.Equal([2L], (await Jobs.ListJobEventsAsync("job-1", afterSeq: 1, limit: 1)).Select(e => e.Seq));
        Assert.Equal([1L], (await Jobs.ListJobEventsAsync("job-2")).Select(e => e.Seq));
    }

    [Fact]
    public async Task Events_AppendedConcurrently_GetEveryNumberOnce()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);

        var appended = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(() => Jobs.AppendJobEventAsync("job-1", "rank-ready", $$"""{"rank": {{i}}}"""))));

        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), appended.Select(e => e.Seq).Order());
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), (await Jobs.ListJobEventsAsync("job-1")).Select(e => e.Seq));
    }
}
