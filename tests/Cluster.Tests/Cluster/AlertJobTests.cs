using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// Real jobs in a real silo raising alerts: a NaN loss injected (skipped, rolled back to the last committed checkpoint,
/// or failing the job), a stalled simulated rank, MaxVio held above a threshold, a checkpoint shard write failing, the
/// checkpoint storage under its free-space threshold. Each alert is an <c>alert</c> event with its kind, step, message
/// and values, is in the job's status, and is counted in <c>orchestrator.alerts</c>, once per episode.
/// </summary>
public sealed class AlertJobTests(AlertSilo silo, ITestOutputHelper output) : IClassFixture<AlertSilo>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private JsonObject Real(string id, long steps, string alerts, string faults)
    {
        var spec = TinyJob.Spec(id, silo.Data, steps);
        spec["alerts"] = JsonNode.Parse(alerts);
        spec["faults"] = JsonNode.Parse(faults);
        return spec;
    }

    private static JsonObject Simulated(string id, long steps, string alerts, string? faults = null, long checkpointEvery = 2)
    {
        var spec = TinyJob.Spec(id, "/unused", steps);
        spec["parallel"] = new JsonObject { ["ep"] = 2, ["dp"] = 1 };
        spec["checkpoint"] = new JsonObject { ["every"] = checkpointEvery, ["keep"] = 2 };
        spec["simulation"] = new JsonObject { ["step_ms"] = 100, ["shard_kb"] = 4, ["skew"] = 2.0 };
        spec["alerts"] = JsonNode.Parse(alerts);
        if (faults is not null) spec["faults"] = JsonNode.Parse(faults);
        return spec;
    }

    private async Task<(JobStatus Final, IReadOnlyList<JobEvent> Events, List<JsonNode> Alerts)> RunAsync(JsonObject spec)
    {
        var id = (string)spec["id"]!;
        var job = silo.Grains.GetGrain<IJobGrain>(id);
        await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, Patience);
        var events = await silo.Store.ListJobEventsAsync(id);
        output.WriteLine(string.Join(Environment.NewLine, events.Select(e => $"{e.Seq} {e.Kind} {e.DetailJson}")));
        return (final, events, [.. events.Where(e => e.Kind == "alert").Select(e => JsonNode.Parse(e.DetailJson!)!)]);
    }

    private void AssertCounted(string job, params string[] kinds) =>
        Assert.Equal(kinds.Order(StringComparer.Ordinal), silo.Counted.Where(c => c.Job == job).Select(c => c.Kind).Order(StringComparer.Ordinal));

    [Fact]
    public async Task ANanStep_WithOnNanSkip_IsNotApplied_TheJobCompletes_AndTheAlertIsRecordedShownAndCounted()
    {
        var (final, events, alerts) = await RunAsync(Real("nan-skip", 6, """{"on_nan": "skip"}""", """{"nan_step": 3}"""));

        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        Assert.Equal((6L, 1L), (final.Step, final.Epoch));
        var alert = Assert.Single(alerts);
        Assert.Equal(("loss-nan", 3L, 1.0), ((string)alert["kind"]!, (long)alert["step"]!, (double)alert["values"]!["skipped"]!));
        Assert.Null(alert["values"]!["loss"]); // NaN, which JSON writes as null
        Assert.Contains("not applied", (string)alert["message"]!, StringComparison.Ordinal);
        var shown = Assert.Single(final.Alerts);
        Assert.Equal(("loss-nan", 3L), (shown.Kind, shown.Step));
        var losses = await silo.Store.QueryMetricsAsync("nan-skip", new MetricQuery("loss"));
        Assert.Equal([1L, 2, 4, 5, 6], losses.Select(m => m.Step)); // the skipped step has no loss; the others are numbers
        Assert.All(losses, m => Assert.True(double.IsFinite(m.Value)));
        Assert.DoesNotContain(events, e => e.Kind is "failed" or "recovering");
        AssertCounted("nan-skip", "loss-nan");
    }

    /// <summary>A pipeline job (pp 2 on two CPU ranks) skips the NaN step on both stages alike and completes.</summary>
    [Fact]
    public async Task ANanStepOfAPipelineJob_WithOnNanSkip_IsSkippedOnEveryStage_AndTheJobCompletes()
    {
        var spec = Real("nan-skip-pp", 6, """{"on_nan": "skip"}""", """{"nan_step": 3}""");
        spec["model"]!["n_layers"] = 2;
        spec["training"]!["gradient_accumulation"] = 2;
        spec["parallel"] = new JsonObject { ["pp"] = 2 };
        var (final, events, alerts) = await RunAsync(spec);

        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        Assert.Equal((6L, 1L), (final.Step, final.Epoch));
        var alert = Assert.Single(alerts);
        Assert.Equal(("loss-nan", 3L), ((string)alert["kind"]!, (long)alert["step"]!));
        var losses = await silo.Store.QueryMetricsAsync("nan-skip-pp", new MetricQuery("loss"));
        Assert.Equal([1L, 2, 4, 5, 6], losses.Select(m => m.Step));
        Assert.DoesNotContain(events, e => e.Kind is "failed" or "recovering");
    }

    [Fact]
    public async Task ANanStep_WithOnNanRollback_ResumesFromTheLastCommittedCheckpoint_AndCompletes()
    {
        var (final, events, alerts) = await RunAsync(Real("nan-rollback", 8, """{"on_nan": "rollback"}""", """{"nan_step": 5}"""));

        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        Assert.Equal((8L, 2L), (final.Step, final.Epoch)); // one rollback: the fault fires in epoch 1 only
        var alert = Assert.Single(alerts);
        Assert.Equal(("loss-nan", 5L, 1.0), ((string)alert["kind"]!, (long)alert["step"]!, (double)alert["values"]!["rollback"]!));
        var recovering = JsonNode.Parse(Assert.Single(events, e => e.Kind == "recovering").DetailJson!)!;
        Assert.True((bool)recovering["detail"]!["rollback"]!);
        Assert.StartsWith("rollback: ", (string)recovering["reason"]!, StringComparison.Ordinal);
        // The last checkpoint committed before the NaN step (checkpoint.every = 2) is where the ranks resumed.
        var committed = events.Where(e => e.Kind == "checkpoint-committed" && e.Seq < events.First(x => x.Kind == "recovering").Seq)
            .Select(e => (long)JsonNode.Parse(e.DetailJson!)!["step"]!).ToList();
        Assert.Equal(4L, committed.Max());
        var recovered = JsonNode.Parse(Assert.Single(events, e => e.Kind == "recovered").DetailJson!)!;
        Assert.Equal(4L, (long)recovered["from_step"]!);
        AssertCounted("nan-rollback", "loss-nan");
    }

    [Fact]
    public async Task ANanStep_ByDefault_FailsTheJob_WithAnAlert()
    {
        var (final, _, alerts) = await RunAsync(Real("nan-fail", 4, "{}", """{"nan_step": 2}"""));

        Assert.Equal(JobPhase.Failed, final.Phase);
        Assert.Contains("NaN", final.Error, StringComparison.Ordinal);
        var alert = Assert.Single(alerts);
        Assert.Equal(("loss-nan", 0.0), ((string)alert["kind"]!, (double)alert["values"]!["rollback"]!));
        Assert.Contains("the job fails", (string)alert["message"]!, StringComparison.Ordinal);
        AssertCounted("nan-fail", "loss-nan");
    }

    [Fact]
    public async Task AStalledRank_IsReportedOnce_NamingIt()
    {
        var (final, _, alerts) = await RunAsync(Simulated("stall", 40, """{"stall_factor": 5, "stall_min_s": 1}""",
            """{"stall_rank": 1, "stall_step": 10, "stall_s": 4}""", checkpointEvery: 0));

        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        var alert = Assert.Single(alerts);
        Assert.Equal(("rank-stalled", 1.0, 1.0), ((string)alert["kind"]!, (double)alert["values"]!["first_rank"]!, (double)alert["values"]!["ranks"]!));
        Assert.InRange((double)alert["values"]!["silent_s"]!, 1.0, 4.5);
        Assert.Equal(1.0, (double)alert["values"]!["limit_s"]!); // max(stall_min_s, 5 × the 0.1 s median step)
        AssertCounted("stall", "rank-stalled");
    }

    [Fact]
    public async Task MaxVioAboveTheThreshold_ForNSteps_IsRaisedOncePerEpisode_AndTheDefaultDiskThresholdRaisesNothing()
    {
        var (final, _, alerts) = await RunAsync(Simulated("maxvio", 12, """{"max_vio": 0, "max_vio_steps": 3}"""));

        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        var maxVio = await silo.Store.QueryMetricsAsync("maxvio", new MetricQuery("max_vio"));
        Assert.All(maxVio, m => Assert.True(m.Value > 0, $"MaxVio {m.Value} at step {m.Step}")); // above the threshold every step: one episode
        var alert = Assert.Single(alerts); // not one per step
        Assert.Equal(("max-vio", 3L, 3.0, 0.0), ((string)alert["kind"]!, (long)alert["step"]!, (double)alert["values"]!["steps"]!, (double)alert["values"]!["threshold"]!));
        AssertCounted("maxvio", "max-vio");
    }

    [Fact]
    public async Task AFailedCheckpointWrite_RaisesAnAlert_AndTheJobGoesOn()
    {
        var (final, events, alerts) = await RunAsync(Simulated("ckpt-fail", 10, "{}", """{"checkpoint_fail_step": 4}"""));

        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        var alert = Assert.Single(alerts);
        Assert.Equal(("checkpoint-failed", 4L, 0.0), ((string)alert["kind"]!, (long)alert["step"]!, (double)alert["values"]!["rank"]!));
        Assert.Contains("fault injection", (string)alert["message"]!, StringComparison.Ordinal);
        Assert.Contains(events, e => e.Kind == "checkpoint-failed");
        var committed = events.Where(e => e.Kind == "checkpoint-committed").Select(e => (long)JsonNode.Parse(e.DetailJson!)!["step"]!).ToList();
        Assert.DoesNotContain(4L, committed);
        Assert.Contains(10L, committed);
        AssertCounted("ckpt-fail", "checkpoint-failed");
    }

    [Fact]
    public async Task CheckpointStorageUnderTheFreeSpaceThreshold_RaisesOneAlert()
    {
        var (final, events, alerts) = await RunAsync(Simulated("disk", 10, """{"disk_free_min_mb": 1000000000000}"""));

        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        Assert.True(events.Count(e => e.Kind == "checkpoint-committed") >= 4, "the job checkpointed several times");
        var alert = Assert.Single(alerts); // once while it stays low, not at every checkpoint
        Assert.Equal(("disk-low", 2L, 1e12), ((string)alert["kind"]!, (long)alert["step"]!, (double)alert["values"]!["min_mb"]!));
        Assert.InRange((double)alert["values"]!["free_mb"]!, 0, 1e12);
        AssertCounted("disk", "disk-low");
    }
}
