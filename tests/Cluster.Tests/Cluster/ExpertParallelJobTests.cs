using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// The equality that matters, at test size: an expert-parallel job over real silo processes on a
/// real PostgreSQL (tokens, gradients and loads travel as grain calls between rank grains) against
/// the same model trained in this process on the same global batches.
/// </summary>
public sealed class ExpertParallelJobTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Ep = 4;
    private const int RowsPerRank = 2;
    private const int Steps = 6;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-ep-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task ExpertParallelJobOverTwoSilos_MatchesTheSingleProcessRun()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "ep-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(4);
        var storage = Path.Combine(_root, "storage");
        var start1 = SiloProcess.StartAsync(connectionString, clusterId, "n1", "cpu:2", ports[0], ports[1], storage, timeout.Token);
        var start2 = SiloProcess.StartAsync(connectionString, clusterId, "n2", "cpu:2", ports[2], ports[3], storage, timeout.Token);
        using var n1 = await start1;
        using var n2 = await start2;
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);

        var spec = TinyJob.Spec("ep4", data, Steps);
        spec["training"]!["micro_batch_size"] = RowsPerRank;
        spec["parallel"] = new JsonObject { ["ep"] = Ep, ["dp"] = 1 };
        spec["checkpoint"] = new JsonObject { ["every"] = 0, ["keep"] = 1 };
        var job = connection.Client.GetGrain<IJobGrain>("ep4");
        var status = await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
        Assert.Equal(["n1", "n2"], status.Plan!.Ranks.Select(r => r.Node).Distinct().Order());

        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(200));
        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        var losses = (await store.QueryMetricsAsync("ep4", new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
        var maxVio = (await store.QueryMetricsAsync("ep4", new MetricQuery("max_vio"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();

        var (singleLoss, singleMaxVio) = SingleProcess(data);
        output.WriteLine($"cluster losses {string.Join(", ", losses)}");
        output.WriteLine($"single  losses {string.Join(", ", singleLoss)}");
        Assert.Equal(Steps, losses.Length);
        for (var step = 0; step < Steps; step++)
        {
            // Within 1e-6 relative: a rank's attention runs over its own rows, and reductions sum in rank order.
            Assert.Equal(singleLoss[step], losses[step], singleLoss[step] * 1e-6);
            // MaxVio comes from the loads summed over ranks: equal to the bit means the same busiest-expert load.
            Assert.Equal(singleMaxVio[step], maxVio[step]);
        }
    }

    private static (double[] Loss, double[] MaxVio) SingleProcess(string data)
    {
        LibTorchRuntime.Initialize();
        var config = ConfigLoader.Parse(new JsonObject { ["model"] = TinyJob.Model(), ["training"] = TinyJob.Training() }.ToJsonString());
        var training = config.Training! with { MicroBatchSize = Ep * RowsPerRank };
        using var dataset = TokenDataset.Open(data);
        var window = training.SequenceLength + 1 + config.Model!.MtpDepth;
        using var trainer = new Trainer(config.Model, training, new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, 1), Steps);
        var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToArray();
        return (reports.Select(r => r.Loss).ToArray(), reports.Select(r => r.MaxViolationOverLayers).ToArray());
    }
}
