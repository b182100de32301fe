using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>
/// The spec's <c>alerts</c> (what raises an alert, what a NaN loss does) and <c>faults</c> (deliberate fault injection):
/// defaults when absent and not written back then, read and round-tripped when given, bad values refused naming the field.
/// </summary>
public sealed class JobSpecAlertsTests
{
    private static string Spec(Action<JsonObject> change)
    {
        var spec = TinyJob.Spec("j1", "/data", 10);
        change(spec);
        return spec.ToJsonString();
    }

    [Fact]
    public void ASpecWithoutAlertsOrFaults_HasTheDefaults_AndItsStoredFormHasNeither()
    {
        var spec = JobSpecParser.Parse(Spec(_ => { }));

        Assert.Equal(AlertPolicy.Default, spec.Alerts);
        Assert.Equal((NonFiniteLossAction.Fail, 3.0, (double?)null, 10, 10.0, 30.0, 1024L),
            (spec.Alerts.OnNan, spec.Alerts.LossSpikeFactor, spec.Alerts.MaxVio, spec.Alerts.MaxVioSteps, spec.Alerts.StallFactor, spec.Alerts.StallMinSeconds, spec.Alerts.DiskFreeMinMegabytes));
        Assert.Null(spec.Faults);
        var json = JobSpecParser.ToJson(spec);
        Assert.DoesNotContain("alerts", json, StringComparison.Ordinal);
        Assert.DoesNotContain("faults", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"on_nan": "skip"}""", NonFiniteLossAction.Skip, 3.0, null, 10)]
    [InlineData("""{"on_nan": "rollback", "loss_spike_factor": 0}""", NonFiniteLossAction.Rollback, 0.0, null, 10)]
    [InlineData("""{"max_vio": 0.5, "max_vio_steps": 3, "stall_factor": 4, "stall_min_s": 2, "disk_free_min_mb": 0}""", NonFiniteLossAction.Fail, 3.0, 0.5, 3)]
    public void Alerts_AreRead_AndRoundTrip(string written, NonFiniteLossAction onNan, double spike, double? maxVio, int maxVioSteps)
    {
        var spec = JobSpecParser.Parse(Spec(s => s["alerts"] = JsonNode.Parse(written)));

        Assert.Equal((onNan, spike, maxVio, maxVioSteps), (spec.Alerts.OnNan, spec.Alerts.LossSpikeFactor, spec.Alerts.MaxVio, spec.Alerts.MaxVioSteps));
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));
        Assert.Equal(spec.Alerts, JobSpecParser.Parse(JobSpecParser.ToJson(spec)).Alerts);
    }

    [Fact]
    public void Faults_AreRead_WithTheFirstEpochByDefault_AndRoundTrip()
    {
        var spec = JobSpecParser.Parse(Spec(s => s["faults"] = JsonNode.Parse("""{"nan_step": 3, "stall_rank": 0, "stall_step": 2, "stall_s": 1.5, "checkpoint_fail_step": 4}""")));

        Assert.Equal(new FaultInjection(3, 0, 2, 1.5, 4, 1), spec.Faults);
        Assert.Equal(spec.Faults, JobSpecParser.Parse(JobSpecParser.ToJson(spec)).Faults);
    }

    [Theory]
    [InlineData("""{"on_nan": "ignore"}""", "alerts.on_nan", "not one of fail, skip, rollback")]
    [InlineData("""{"on_nan": 1}""", "alerts.on_nan", "must be \"fail\"")]
    [InlineData("""{"loss_spike_factor": 1}""", "alerts.loss_spike_factor", "above 1")]
    [InlineData("""{"loss_spike_factor": -2}""", "alerts.loss_spike_factor", "above 1")]
    [InlineData("""{"max_vio": -0.1}""", "alerts.max_vio", "at least 0")]
    [InlineData("""{"max_vio": "high"}""", "alerts.max_vio", "must be a number")]
    [InlineData("""{"max_vio_steps": 0}""", "alerts.max_vio_steps", "at least 1")]
    [InlineData("""{"max_vio_steps": 2.5}""", "alerts.max_vio_steps", "whole number")]
    [InlineData("""{"stall_factor": 0.5}""", "alerts.stall_factor", "at least 1")]
    [InlineData("""{"stall_min_s": 0}""", "alerts.stall_min_s", "above 0")]
    [InlineData("""{"disk_free_min_mb": -1}""", "alerts.disk_free_min_mb", "at least 0")]
    [InlineData("""{"maxvio": 1}""", "alerts.maxvio", "unknown field")]
    [InlineData("[]", "alerts", "must be an object")]
    public void BadAlerts_AreRefused_NamingTheField(string value, string field, string reason)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Spec(s => s["alerts"] = JsonNode.Parse(value))));

        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"nan_step": 0}""", "faults.nan_step", "at least 1")]
    [InlineData("""{"nan_step": 11}""", "faults.nan_step", "past the job's last step")]
    [InlineData("""{"stall_rank": 1, "stall_s": 1}""", "faults.stall_rank", "ranks 0 to 0")]
    [InlineData("""{"stall_s": 1}""", "faults.stall_rank", "is required")]
    [InlineData("""{"stall_rank": 0, "stall_s": -1}""", "faults.stall_s", "from 0 to 3600")]
    [InlineData("""{"checkpoint_fail_step": "x"}""", "faults.checkpoint_fail_step", "whole number")]
    [InlineData("""{"epoch": 0}""", "faults.epoch", "at least 1")]
    [InlineData("""{"nan": 1}""", "faults.nan", "unknown field")]
    [InlineData("1", "faults", "must be an object")]
    public void BadFaults_AreRefused_NamingTheField(string value, string field, string reason)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Spec(s => s["faults"] = JsonNode.Parse(value))));

        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
