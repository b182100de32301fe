using System.Diagnostics;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Tests.Telemetry;

/// <summary>The job's stored trace context (the submitted event's detail) and its logging scope.</summary>
public sealed class JobTraceContextTests
{
    [Fact]
    public void The_submit_spans_traceparent_survives_the_submitted_event_and_parents_later_spans()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == OrchestratorTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        string? detail;
        ActivityContext submitted;
        using (var submit = JobTrace.Start(JobTrace.Submit, "job-t", 1))
        {
            Assert.NotNull(submit);
            submitted = submit.Context;
            detail = JobTrace.SubmittedDetail(JobTrace.TraceParent(submit));
        }

        // As a new activation reads it back from the store, with no span current.
        var context = JobTrace.Context(JobTrace.FromSubmittedDetail(detail));
        using var step = JobTrace.Start(JobTrace.Step, "job-t", 2, context);
        Assert.NotNull(step);
        Assert.Equal((submitted.TraceId, submitted.SpanId), (step.TraceId, step.ParentSpanId));
        Assert.Equal(("job-t", (object)2L), ((string?)step.GetTagItem(JobTrace.JobTag), step.GetTagItem(JobTrace.EpochTag)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("[1, 2]")]
    [InlineData("{\"traceparent\": 7}")]
    [InlineData("{not json")]
    public void A_submitted_event_without_a_trace_gives_no_parent(string? detail)
    {
        Assert.Null(JobTrace.FromSubmittedDetail(detail));
        Assert.Equal(default, JobTrace.Context(JobTrace.FromSubmittedDetail(detail)));
        Assert.Equal(default, JobTrace.Context("00-not-a-traceparent"));
    }

    [Fact]
    public void The_log_scope_reads_the_epoch_when_an_event_is_written()
    {
        long epoch = 1;
        var scope = new JobLogScope("job-s", () => epoch);
        Assert.Equal([new("Job", "job-s"), new("Epoch", 1L)], scope.ToList());
        epoch = 2; // a recovery moved the job within the call
        Assert.Equal(2L, scope.Single(p => p.Key == JobLogScope.EpochProperty).Value);
        Assert.Equal("job job-s epoch 2", scope.ToString());
    }
}
