using System.Diagnostics;
using Orchestrator.Grains;
using Orchestrator.Grains.Telemetry;
using Serilog.Events;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>
/// A short real job in the demo's silo, in this process, traced through the silo's own tracing set-up into memory:
/// its life is one trace, in order, every span tagged with the job and epoch; a recovery is a span of the same
/// trace; the events logged on the job's behalf carry its id, epoch and the current span's ids.
/// </summary>
public sealed class JobTraceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_jobs_life_is_one_trace_in_order_and_its_logs_name_the_job_and_epoch()
    {
        await using var silo = await InProcessJob.StartAsync();
        var spec = silo.Spec("traced-" + Guid.NewGuid().ToString("N")[..6], steps: 3, every: 2);
        var job = silo.Grains.GetGrain<IJobGrain>(spec.Id);
        await job.Submit(spec);
        var final = await InProcessJob.WaitForAsync(job, s => s.Phase is JobPhase.Completed or JobPhase.Failed, Patience);
        Assert.Equal((JobPhase.Completed, (string?)null), (final.Phase, final.Error));
        await silo.SpanAsync(s => s.DisplayName == JobTrace.CheckpointCommit && Tag(s, JobTrace.JobTag) == spec.Id, Patience);

        var spans = Of(silo, spec.Id);
        var submit = Assert.Single(spans, s => s.DisplayName == JobTrace.Submit);
        Assert.Equal(default, submit.ParentSpanId); // the root: nothing called the job traced
        Assert.All(spans, s => Assert.Equal(submit.TraceId, s.TraceId));
        Assert.All(spans, s => Assert.Equal((spec.Id, "1"), (Tag(s, JobTrace.JobTag), Tag(s, JobTrace.EpochTag))));
        Assert.All(spans.Where(s => s != submit), s => Assert.Equal(submit.SpanId, s.ParentSpanId));

        var plan = Assert.Single(spans, s => s.DisplayName == JobTrace.Plan);
        var rank = Assert.Single(spans, s => s.DisplayName == JobTrace.RankStart);
        Assert.Equal("0", Tag(rank, JobTrace.RankTag));
        var steps = spans.Where(s => s.DisplayName == JobTrace.Step).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(["1", "2", "3"], steps.Select(s => Tag(s, JobTrace.StepTag)));
        var prepare = spans.First(s => s.DisplayName == JobTrace.CheckpointPrepare);
        var commit = spans.First(s => s.DisplayName == JobTrace.CheckpointCommit);
        Assert.Equal("2", Tag(prepare, JobTrace.CheckpointStepTag));
        Assert.Equal("2", Tag(commit, JobTrace.CheckpointStepTag));
        Activity[] life = [submit, plan, rank, steps[0], prepare, commit];
        Assert.Equal(life.Select(s => s.DisplayName), life.OrderBy(s => s.StartTimeUtc).Select(s => s.DisplayName));
        Assert.True(rank.StartTimeUtc + rank.Duration <= steps[0].StartTimeUtc + TimeSpan.FromMilliseconds(50), "the rank is ready before its first step");
        Assert.True(steps[1].StartTimeUtc + steps[1].Duration <= prepare.StartTimeUtc, "step 2 ends before its checkpoint's first vote");

        // The logs: every event of the grains' and ranks' work for the job names it and its epoch.
        var events = silo.Events.Where(e => Property(e, "Job") == spec.Id).ToList();
        var jobsOwn = events.Where(e => Source(e) is { } source && source.StartsWith("Orchestrator.Grains", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(jobsOwn);
        Assert.All(jobsOwn, e => Assert.Equal("1", Property(e, "Epoch")));
        var planned = Assert.Single(jobsOwn, e => e.MessageTemplate.Text.Contains("planned and recorded", StringComparison.Ordinal));
        Assert.Equal((submit.TraceId, submit.SpanId), (planned.TraceId, planned.SpanId)); // logged inside the submit span
        var ready = Assert.Single(jobsOwn, e => e.MessageTemplate.Text.Contains("ready in", StringComparison.Ordinal));
        Assert.Equal((rank.TraceId, rank.SpanId), (ready.TraceId, ready.SpanId)); // logged on the device thread, inside the rank's start span
        var committed = jobsOwn.First(e => e.MessageTemplate.Text.Contains("committed", StringComparison.Ordinal) && Property(e, "Step") == "2");
        Assert.Equal((commit.TraceId, commit.SpanId), (committed.TraceId, committed.SpanId)); // the coordinator's, in its scope and span
    }

    [Fact]
    public async Task A_recovery_is_a_span_of_the_jobs_trace_and_the_new_epoch_goes_on_in_it()
    {
        await using var silo = await InProcessJob.StartAsync();
        var spec = silo.Spec("recovered-" + Guid.NewGuid().ToString("N")[..6], steps: 4, every: 2);
        var job = silo.Grains.GetGrain<IJobGrain>(spec.Id);
        await job.Submit(spec);
        await silo.SpanAsync(s => s.DisplayName == JobTrace.CheckpointCommit && Tag(s, JobTrace.JobTag) == spec.Id, Patience);
        // What the cluster grain tells a job when its membership declares the node dead: the real recovery follows
        // (epoch 2, a re-plan on the node, which is alive, the ranks resumed from the committed checkpoint).
        await job.NodeLost(InProcessJob.Node);
        var final = await InProcessJob.WaitForAsync(job, s => s.Phase is JobPhase.Completed or JobPhase.Failed, Patience);
        Assert.Equal((JobPhase.Completed, 2L, (string?)null), (final.Phase, final.Epoch, final.Error));

        var spans = Of(silo, spec.Id);
        var submit = Assert.Single(spans, s => s.DisplayName == JobTrace.Submit);
        Assert.All(spans, s => Assert.Equal(submit.TraceId, s.TraceId));
        var recovery = Assert.Single(spans, s => s.DisplayName == JobTrace.Recovery);
        Assert.Equal((submit.SpanId, "2"), (recovery.ParentSpanId, Tag(recovery, JobTrace.EpochTag)));
        Assert.Contains("node local died", Tag(recovery, "reason"), StringComparison.Ordinal);
        var replan = Assert.Single(spans, s => s.DisplayName == JobTrace.Plan && Tag(s, JobTrace.EpochTag) == "2");
        Assert.Equal(recovery.SpanId, replan.ParentSpanId);
        var restart = Assert.Single(spans, s => s.DisplayName == JobTrace.RankStart && Tag(s, JobTrace.EpochTag) == "2");
        Assert.True(restart.StartTimeUtc >= recovery.StartTimeUtc && recovery.StartTimeUtc + recovery.Duration >= restart.StartTimeUtc,
            "the recovery lasts until the new epoch's ranks are started");
        Assert.Contains(spans, s => s.DisplayName == JobTrace.Step && Tag(s, JobTrace.EpochTag) == "2");
        Assert.Contains(silo.Events, e => Property(e, "Job") == spec.Id && Property(e, "Epoch") == "2"
            && e.MessageTemplate.Text.Contains("recovering as epoch", StringComparison.Ordinal));
    }

    private static List<Activity> Of(InProcessJob silo, string job) =>
        [.. silo.SpansNow().Where(s => Tag(s, JobTrace.JobTag) == job)];

    private static string? Tag(Activity span, string name) =>
        span.TagObjects.FirstOrDefault(t => t.Key == name).Value is { } value ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static string? Property(LogEvent e, string name) =>
        e.Properties.TryGetValue(name, out var value) ? value is ScalarValue { Value: var scalar } ? Convert.ToString(scalar, System.Globalization.CultureInfo.InvariantCulture) : value.ToString() : null;

    private static string? Source(LogEvent e) => Property(e, "SourceContext");
}
