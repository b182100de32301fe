using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>
/// The registration part of the contract: a silo registers the one open store as each interface, a caller
/// resolves only the one it needs, and the container never disposes what the opener owns.
/// </summary>
public abstract partial class MetadataStoreContract
{
    [Fact]
    public async Task Registered_EachInterfaceWorksOnItsOwn_OnTheOneStore()
    {
        await using (var provider = new ServiceCollection().AddMetadataStore(Store).BuildServiceProvider())
        {
            var jobs = provider.GetRequiredService<IJobStore>();
            var metrics = provider.GetRequiredService<IMetricStore>();
            var nodes = provider.GetRequiredService<INodeStore>();
            var checkpoints = provider.GetRequiredService<ICheckpointIndex>();
            Assert.All(new object[] { jobs, metrics, nodes, checkpoints }, s => Assert.Same(Store, s));

            Assert.NotNull(await jobs.TryCreateJobAsync("job-1", Spec));
            Assert.True(await jobs.TryTransitionJobAsync(new JobTransition("job-1", JobPhase.Submitted, 0, JobPhase.Running, 1)));
            await metrics.AppendMetricsAsync("job-1", [new MetricSample(3, "loss", 2.5, Clock.GetUtcNow())]);
            await nodes.UpsertNodeAsync(new NodeRegistration("n1", "h", [DeviceSlot.Parse("cpu:0")]));
            Assert.NotNull(await checkpoints.CommitCheckpointAsync(Manifest("job-1", 3, 1, Shard(0, "job-1", 3, 1)), "{\"step\":3}"));

            // What one interface wrote, the others read: one database behind all four.
            Assert.Equal(2.5, Assert.Single(await metrics.QueryMetricsAsync("job-1", MetricQuery.All)).Value);
            Assert.Equal(["checkpoint-committed"], (await jobs.ListJobEventsAsync("job-1")).Select(e => e.Kind));
            Assert.Equal(3, (await checkpoints.GetCheckpointAsync("job-1"))!.Step);
            Assert.Equal("n1", Assert.Single(await nodes.ListNodesAsync()).Name);
        }

        // The container is gone; the store it was handed is still open (its opener disposes it).
        Assert.Equal(JobPhase.Running, (await Jobs.GetJobAsync("job-1"))!.State);
        Assert.Single(await Checkpoints.ListCheckpointsAsync("job-1"));
    }
}
