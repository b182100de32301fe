using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Telemetry;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>
/// A pipeline job's transfers are metered as the other ranks' collectives are: a pp 2 job in a silo of this process,
/// heard through a <see cref="MeterListener"/> on the project's meter — activations and input gradients as
/// <c>send</c>/<c>recv</c> (one of each per micro-batch and rank, forward or backward, carrying the activation's bytes),
/// and the stages' loss all-reduce.
/// </summary>
public sealed class PipelineMeteringTests
{
    private const int Steps = 2;
    private const int MicroBatches = 2;

    [Fact]
    public async Task APipelineJob_RecordsTheBytesAndTimesOfItsStageTransfers_AndItsAllReduce()
    {
        var heard = new List<(string Instrument, string Collective, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OrchestratorTelemetry.Meter.Name && instrument.Name.StartsWith("orchestrator.collective", StringComparison.Ordinal))
                l.EnableMeasurementEvents(instrument);
        };
        void Heard(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? collective = null, job = null;
            foreach (var tag in tags)
            {
                if (tag.Key == TelemetryTags.Collective) collective = tag.Value as string;
                if (tag.Key == TelemetryTags.Job) job = tag.Value as string;
            }
            if (job != "pp-metered") return;
            lock (heard) heard.Add((instrument.Name, collective!, value));
        }
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Heard(instrument, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Heard(instrument, value, tags));
        listener.Start();

        await using var silo = await InProcessJob.StartAsync(slots: 2);
        var spec = silo.Spec("pp-metered", Steps, every: 100);
        var json = JsonNode.Parse(JobSpecParser.ToJson(spec))!.AsObject();
        json["model"]!["n_layers"] = 4;
        json["training"]!["micro_batch_size"] = 2;
        json["training"]!["gradient_accumulation"] = MicroBatches;
        json["parallel"] = new JsonObject { ["pp"] = 2 };
        var job = silo.Grains.GetGrain<IJobGrain>("pp-metered");
        await job.Submit(JobSpecParser.Parse(json.ToJsonString()));
        var done = await InProcessJob.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromMinutes(3));
        Assert.True(done.Phase == JobPhase.Completed, $"{done.Phase}: {done.Error}");

        List<(string Instrument, string Collective, double Value)> all;
        lock (heard) all = [.. heard];
        // Each step: stage 0 sends one activation per micro-batch and receives its gradient; stage 1 the reverse.
        foreach (var collective in new[] { "send", "recv" })
        {
            var bytes = all.Where(h => h.Instrument == "orchestrator.collective.bytes" && h.Collective == collective).ToList();
            var times = all.Where(h => h.Instrument == "orchestrator.collective.duration" && h.Collective == collective).ToList();
            Assert.Equal(Steps * MicroBatches * 2, bytes.Count);
            Assert.Equal(bytes.Count, times.Count);
            // An activation (or its gradient): micro-batch 2 × seq 128 × dim 128 floats.
            Assert.All(bytes, b => Assert.Equal(2 * 128 * 128 * sizeof(float), b.Value));
            Assert.All(times, t => Assert.True(t.Value >= 0));
        }
        Assert.Contains(all, h => h.Collective == "all_reduce" && h.Instrument == "orchestrator.collective.bytes" && h.Value > 0);
    }
}
