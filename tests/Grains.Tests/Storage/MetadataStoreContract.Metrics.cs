using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The <see cref="IMetricStore"/> part of the contract: a replayed step replaces its figures; NaN survives both engines.</summary>
public abstract partial class MetadataStoreContract
{
    [Fact]
    public async Task Metrics_QueryByNameAndSteps_KeepNaN_AndReplaceARepeatedStep()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);
        var at = Clock.GetUtcNow();
        await Metrics.AppendMetricsAsync("job-1", [
            new MetricSample(0, "loss", 10.5, at),
            new MetricSample(1, "loss", 9.25, at.AddSeconds(1)),
            new MetricSample(2, "loss", double.NaN, at.AddSeconds(2)),
            new MetricSample(0, "tokens_per_s", 1234.5, at),
        ]);

        // A step replayed after recovery reports again.
        await Metrics.AppendMetricsAsync("job-1", [new MetricSample(1, "loss", 9.0, at.AddSeconds(9))]);

        var loss = await Metrics.QueryMetricsAsync("job-1", new MetricQuery("loss"));
        Assert.Equal([0L, 1L, 2L], loss.Select(m => m.Step));
        Assert.Equal(9.0, loss[1].Value);
        Assert.Equal(at.AddSeconds(9), loss[1].At);
        Assert.True(double.IsNaN(loss[2].Value));
        Assert.Equal([1L, 2L], (await Metrics.QueryMetricsAsync("job-1", new MetricQuery("loss", FromStep: 1))).Select(m => m.Step));
        Assert.Equal(["loss", "loss", "tokens_per_s"], (await Metrics.QueryMetricsAsync("job-1", new MetricQuery(ToStep: 1))).Select(m => m.Name));
        Assert.Equal(4, (await Metrics.QueryMetricsAsync("job-1", MetricQuery.All)).Count);
    }

    [Fact]
    public async Task ExpertLoads_ReadBackByStepThenLayer_ReplaceARepeatedStep_AndKeepNaNBiases()
    {
        await Jobs.TryCreateJobAsync("job-1", Spec);
        var at = Clock.GetUtcNow();
        await Metrics.AppendExpertLoadsAsync("job-1", [
            new ExpertLoadSample(2, 1, [5, 0, 7], [0.25, double.NaN, -0.5], at),
            new ExpertLoadSample(2, 0, [1, 2, 3], [], at),
            new ExpertLoadSample(1, 0, [9, 9, 9], [0.125, 0, 0], at),
        ]);
        await Metrics.AppendExpertLoadsAsync("job-1", [new ExpertLoadSample(1, 0, [4, 4, 4], [1, 1, 1], at.AddSeconds(1))]);

        var all = await Metrics.QueryExpertLoadsAsync("job-1");
        Assert.Equal([(1L, 0), (2L, 0), (2L, 1)], all.Select(s => (s.Step, s.Layer)));
        Assert.Equal([4L, 4, 4], all[0].Loads);
        Assert.Equal(at.AddSeconds(1), all[0].At);
        Assert.Empty(all[1].Biases);
        Assert.Equal(0.25, all[2].Biases[0]);
        Assert.True(double.IsNaN(all[2].Biases[1]));
        Assert.Equal([2L, 2L], (await Metrics.QueryExpertLoadsAsync("job-1", fromStep: 2)).Select(s => s.Step));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Metrics.QueryExpertLoadsAsync("ghost"));
        await Assert.ThrowsAsync<ArgumentException>(() => Metrics.AppendExpertLoadsAsync("job-1", [new ExpertLoadSample(3, 0, [-1], [], at)]));
        Assert.Equal(3, (await Metrics.QueryExpertLoadsAsync("job-1")).Count);
    }
}
