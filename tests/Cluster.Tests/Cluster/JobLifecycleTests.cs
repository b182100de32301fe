using Orleans.Runtime;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>The job state machine through a real silo process on a real PostgreSQL.</summary>
public sealed class JobLifecycleTests(OneNodeCluster cluster, ITestOutputHelper output) : IClassFixture<OneNodeCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private JobSpec Spec(string id, long steps, Action<JsonObject>? change = null)
    {
        var json = TinyJob.Spec(id, cluster.Data, steps);
        change?.Invoke(json);
        return JobSpecParser.Parse(json.ToJsonString());
    }

    [Fact]
    public async Task ATinyJob_ReachesCompleted_WithItsMetricsAndEventsStored()
    {
        var clock = Stopwatch.StartNew();
        var job = cluster.Client.GetGrain<IJobGrain>("tiny-complete");
        var submitted = await job.Submit(Spec("tiny-complete", 5));

        Assert.Equal(JobPhase.Running, submitted.Phase);
        Assert.Equal(1, submitted.Epoch);
        Assert.Equal("n1", Assert.Single(submitted.Plan!.Ranks).Node);
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, Patience);
        output.WriteLine($"completed in {clock.Elapsed.TotalSeconds:F1} s: loss {final.Loss:F4}");

        Assert.Equal((JobPhase.Completed, 5L, (string?)null), (final.Phase, final.Step, final.Error));
        var record = await cluster.Store.GetJobAsync("tiny-complete");
        Assert.Equal(JobPhase.Completed, record!.State);
        var losses = await cluster.Store.QueryMetricsAsync("tiny-complete", new MetricQuery("loss"));
        Assert.Equal([1L, 2, 3, 4, 5], losses.Select(m => m.Step));
        Assert.All(losses, m => Assert.True(double.IsFinite(m.Value) && m.Value > 0));
        Assert.Equal(5, (await cluster.Store.QueryMetricsAsync("tiny-complete", new MetricQuery("tokens_per_s"))).Count);
        var events = await job.GetEvents();
        // Checkpoint commits (every 2 steps in this spec) and the rank's data-plane report interleave with the lifecycle as they land.
        Assert.Equal(["submitted", "planned", "started", "completed"],
            events.Select(e => e.Kind).Where(k => !k.StartsWith("checkpoint-", StringComparison.Ordinal) && k != "data-plane"));
        var plane = Assert.Single(events, e => e.Kind == "data-plane");
        Assert.Contains("\"data_plane\":\"none\"", plane.DetailJson, StringComparison.Ordinal); // one rank: nothing to exchange
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("tiny-complete").Drain(Patience));
        Assert.Equal([4L], (await cluster.Store.ListCheckpointsAsync("tiny-complete")).Select(c => c.Step)); // keep = 1
    }

    [Fact]
    public async Task AJobFoundAgainByANewActivation_ShowsItsLastStep_NotZeros()
    {
        var job = cluster.Client.GetGrain<IJobGrain>("tiny-reactivated");
        await job.Submit(Spec("tiny-reactivated", 3));
        var before = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, Patience);
        Assert.Equal(JobPhase.Completed, before.Phase);
        Assert.True(before.TokensPerSecond > 0 && before.MaxVio > 0, $"{before.TokensPerSecond} tokens/s, MaxVio {before.MaxVio}");
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("tiny-reactivated").Drain(Patience));

        // Collect every idle activation: the job grain's next call activates it again from the store.
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var after = await job.GetStatus();

        Assert.Equal((before.Phase, before.Step, before.Loss), (after.Phase, after.Step, after.Loss));
        Assert.Equal(before.MaxVio, after.MaxVio, 6);
        Assert.Equal(before.TokensPerSecond, after.TokensPerSecond, 3);
    }

    /// <summary>
    /// The index moves on beneath a quiet activation, as it does when a duplicate activation (while a silo's
    /// death spreads) hears the ranks and finishes the job: the activation that answers the status adopts the
    /// index within seconds instead of showing a finished job as running for ever.
    /// </summary>
    [Fact]
    public async Task AnActivationThatMissedTheEnd_AdoptsTheIndex_WhenItsStatusIsRead()
    {
        var job = cluster.Client.GetGrain<IJobGrain>("tiny-adopt");
        var status = await job.Submit(Spec("tiny-adopt", 100_000));
        await OneNodeCluster.WaitForAsync(job, s => s.Step >= 1 || s.IsFinal, Patience);
        var rank = status.Plan!.Ranks[0];
        // The rank stops without finishing: it reports an unfinished end, and the activation hears nothing more.
        await cluster.Client.GetGrain<IRankGrain>(new RankKey("tiny-adopt", 1, rank.Rank, rank.Node).ToString()).Stop(1);
        await Task.Delay(500);
        Assert.Equal(JobPhase.Running, (await job.GetStatus()).Phase);

        // Another activation (here: the test, through the index) completes the job.
        Assert.True(await cluster.Store.TryTransitionJobAsync(new JobTransition("tiny-adopt", JobPhase.Running, 1, JobPhase.Completed, 1, null)));

        var clock = Stopwatch.StartNew();
        var seen = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(15));
        output.WriteLine($"adopted after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal((JobPhase.Completed, 1L), (seen.Phase, seen.Epoch));
        Assert.True(seen.Step >= 1, $"step {seen.Step}");
    }

    [Fact]
    public async Task Cancel_StopsARunningJob_AndRecordsIt()
    {
        var job = cluster.Client.GetGrain<IJobGrain>("tiny-cancel");
        await job.Submit(Spec("tiny-cancel", 100_000));
        await OneNodeCluster.WaitForAsync(job, s => s.Step >= 1 || s.IsFinal, Patience);

        var cancelled = await job.Cancel();

        Assert.Equal(JobPhase.Cancelled, cancelled.Phase);
        Assert.Equal(JobPhase.Cancelled, (await cluster.Store.GetJobAsync("tiny-cancel"))!.State);
        Assert.Equal("cancelled", (await job.GetEvents()).Last(e => !e.Kind.StartsWith("checkpoint-", StringComparison.Ordinal)).Kind);
        // Cancelling again leaves it as it is; a cancelled job's slot is free again for the next job.
        Assert.Equal(JobPhase.Cancelled, (await job.Cancel()).Phase);
    }

    [Fact]
    public async Task CallsFromAnotherEpoch_AreRefused()
    {
        var job = cluster.Client.GetGrain<IJobGrain>("tiny-epoch");
        var status = await job.Submit(Spec("tiny-epoch", 100_000));
        var rank = status.Plan!.Ranks[0];
        try
        {
            var toJob = await Assert.ThrowsAsync<StaleEpochException>(() => job.ReportStep(0, 0, new StepMetrics(1, 9, 1, 0, 0, [])));
            Assert.Contains("job tiny-epoch is at epoch 1; a call carrying epoch 0 is refused", toJob.Message, StringComparison.Ordinal);

            var rankGrain = cluster.Client.GetGrain<IRankGrain>(new RankKey("tiny-epoch", 1, rank.Rank, rank.Node).ToString());
            var toRank = await Assert.ThrowsAsync<StaleEpochException>(() => rankGrain.Stop(0));
            Assert.Contains("epoch 0 is refused", toRank.Message, StringComparison.Ordinal);
            Assert.Equal("n1", await rankGrain.GetSiloName());

            // A node's start goes to its first rank only, and carries the key's epoch.
            var spec = Spec("tiny-epoch", 100_000);
            var node = new NodeStart(spec, status.Plan.Ranks);
            var stale = await Assert.ThrowsAsync<StaleEpochException>(() => rankGrain.StartNode(0, node));
            Assert.Contains("epoch 0 is refused", stale.Message, StringComparison.Ordinal);
            var notFirst = cluster.Client.GetGrain<IRankGrain>(new RankKey("tiny-epoch", 1, rank.Rank + 1, rank.Node).ToString());
            var wrong = await Assert.ThrowsAsync<ArgumentException>(() => notFirst.StartNode(1, node));
            Assert.Contains($"whose first rank in the plan is {rank.Rank}", wrong.Message, StringComparison.Ordinal);
            Assert.Equal(JobPhase.Running, (await job.GetStatus()).Phase);
        }
        finally
        {
            await job.Cancel();
        }
    }

    [Theory]
    [InlineData(4, "parallel: ep × dp = 4 × 1 needs 4 device slots; the live nodes have")]
    public async Task ASpecTheClusterCannotRun_IsRefused_AndNothingIsRecorded(int ep, string expected)
    {
        var id = $"tiny-ep{ep}";
        var job = cluster.Client.GetGrain<IJobGrain>(id);

        var e = await Assert.ThrowsAsync<JobSpecException>(() => job.Submit(Spec(id, 5, s => s["parallel"]!["ep"] = ep)));

        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        Assert.Null(await cluster.Store.GetJobAsync(id));
    }

    [Fact]
    public async Task TheCli_SubmitsListsShowsAndCancelsAJob()
    {
        var file = Path.Combine(cluster.Root, "cli.json");
        await File.WriteAllTextAsync(file, TinyJob.Spec("tiny-cli", cluster.Data, 100_000).ToJsonString());
        string[] at = ["--postgres", cluster.ConnectionString, "--cluster-id", cluster.ClusterId];

        var submit = await Cli.RunAsync(["submit", file, .. at]);
        Assert.True(submit.ExitCode == 0, submit.Error);
        Assert.Contains("tiny-cli Running", submit.Output, StringComparison.Ordinal);
        await OneNodeCluster.WaitForAsync(cluster.Client.GetGrain<IJobGrain>("tiny-cli"), s => s.Step >= 1 || s.IsFinal, Patience);

        var jobs = await Cli.RunAsync(["jobs", .. at]);
        Assert.True(jobs.ExitCode == 0, jobs.Error);
        Assert.Contains(jobs.Output.Split('\n'), line => line.Contains("tiny-cli", StringComparison.Ordinal) && line.Contains("Running", StringComparison.Ordinal));

        var show = await Cli.RunAsync(["job", "tiny-cli", "--json", .. at]);
        Assert.True(show.ExitCode == 0, show.Error);
        var status = JsonNode.Parse(show.Output)!;
        Assert.Equal("Running", (string?)status["phase"]);
        Assert.True((long)status["step"]! >= 1);
        Assert.Equal("n1", (string?)status["ranks"]![0]!["node"]);

        var cancel = await Cli.RunAsync(["cancel", "tiny-cli", .. at]);
        Assert.True(cancel.ExitCode == 0, cancel.Error);
        Assert.Contains("tiny-cli Cancelled", cancel.Output, StringComparison.Ordinal);
        Assert.Equal(JobPhase.Cancelled, (await cluster.Store.GetJobAsync("tiny-cli"))!.State);
    }

    [Fact]
    public async Task TheCli_RefusesABadSpec_WithExitCode2_NamingTheField_AndRecordsNothing()
    {
        var file = Path.Combine(cluster.Root, "bad.json");
        var spec = TinyJob.Spec("tiny-bad", cluster.Data, 5);
        spec["parallel"]!["tp"] = 2;
        await File.WriteAllTextAsync(file, spec.ToJsonString());

        var result = await Cli.RunAsync("submit", file, "--postgres", cluster.ConnectionString, "--cluster-id", cluster.ClusterId);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("parallel.tp: unknown field", result.Error, StringComparison.Ordinal);
        Assert.Null(await cluster.Store.GetJobAsync("tiny-bad"));
    }

    [Theory]
    [InlineData("steps", "9223372036854775808", "steps: out of range: 9223372036854775808 is not between")]
    [InlineData("parallel.ep", "2147483648", "parallel.ep: out of range: 2147483648 is not between -2147483648 and 2147483647")]
    [InlineData("checkpoint.every", "-2147483649", "checkpoint.every: out of range: -2147483649 is not between")]
    [InlineData("resume_from.step", "9223372036854775808", "resume_from.step: out of range")]
    [InlineData("recovery.max_attempts", "2147483648", "recovery.max_attempts: out of range")]
    [InlineData("training.seed", "18446744073709551616", "training.seed: out of range")]
    [InlineData("model.n_routed_experts", "2147483648", "model.n_routed_experts: out of range")]
    [InlineData("steps", "twice", "steps: duplicated key")]
    public async Task TheCli_RefusesOutOfRangeNumbersAndDuplicatedKeys_WithExitCode2_AndRecordsNothing(string field, string value, string expected)
    {
        var id = "tiny-bad-" + field.Replace('.', '-').Replace('_', '-');
        var file = Path.Combine(cluster.Root, id + ".json");
        var json = value == "twice"
            ? "{\"steps\": 10, " + SpecIntegers.SpecWith(id, cluster.Data, "steps", "20")[1..]
            : SpecIntegers.SpecWith(id, cluster.Data, field, value);
        await File.WriteAllTextAsync(file, json);

        var result = await Cli.RunAsync("submit", file, "--postgres", cluster.ConnectionString, "--cluster-id", cluster.ClusterId);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: invalid job spec: " + expected, result.Error, StringComparison.Ordinal);
        Assert.Null(await cluster.Store.GetJobAsync(id));
    }
}
