using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training.Rl;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// A grpo job on two real silo processes joined through PostgreSQL: the silo running its rank is killed by pid while the
/// job is stepping (a step is mostly its rollouts' generation); the job resumes on the live node from its last committed
/// checkpoint and ends, and every step's loss — the replayed ones included — is the uninterrupted run's to the bit
/// (same seed and weights, same rollouts).
/// </summary>
public sealed class GrpoRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-grpo-recovery-").FullName;
    private const long Steps = 14;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task KillingTheSiloOfAGrpoRank_ResumesFromItsLastCheckpoint_AndEndsWithTheUninterruptedBits()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var storage = Path.Combine(_root, "storage");
        await using var cluster = await ProcessCluster.StartAsync(
            await _postgres.DatabaseForAsync(GetType()), "gr", ["cpu:1", "cpu:2"], storage, timeout.Token);
        var store = cluster.Store;
        try
        {
            await cluster.RunToCompletionAsync(JobSpecParser.Parse(TinyJob.Spec("grpo-pre", TinyJob.Data(_root), 4).ToJsonString()), TimeSpan.FromSeconds(90));

            var prompts = Path.Combine(_root, "prompts.jsonl");
            File.WriteAllLines(prompts, Enumerable.Range(1, 10).Select(i => $"{{\"prompt\": \"{i}+{i + 2}?\", \"answer\": \"{2 * i + 2}\"}}"));
            var json = GrpoJobTests.GrpoSpec("grpo-survivor", prompts);
            json["steps"] = Steps;
            json["parallel"] = new JsonObject { ["ep"] = 1, ["dp"] = 1 };
            json["checkpoint"] = new JsonObject { ["every"] = 2, ["keep"] = 3 };
            json["grpo"]!["max_new_tokens"] = 24; // generation is most of a step
            var spec = JobSpecParser.Parse(json.ToJsonString());
            var job = cluster.Job("grpo-survivor");
            var status = await job.Submit(spec);
            Assert.Equal("n2", Assert.Single(status.Plan!.Ranks).Node); // the most free slots
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 3 || s.IsFinal, TimeSpan.FromSeconds(90));
            await cluster.WaitForCommittedCheckpointAsync("grpo-survivor", TimeSpan.FromSeconds(10));
            var before = await job.GetStatus();
            Assert.False(before.IsFinal, $"the job ended before the kill ({before.Phase} at step {before.Step})");

            var clock = Stopwatch.StartNew();
            cluster.Silo("n2").Kill();
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(150));
            output.WriteLine($"killed at step {before.Step}; {final.Phase} as epoch {final.Epoch} at step {final.Step}, {clock.Elapsed.TotalSeconds:F1} s after the kill");
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.Equal((2L, Steps, "n1"), (final.Epoch, final.Step, Assert.Single(final.Plan!.Ranks).Node));
            var events = await store.ListJobEventsAsync("grpo-survivor");
            var recovered = JsonNode.Parse(events.Single(e => e.Kind == "recovered").DetailJson!)!["from_step"]!.GetValue<long>();
            output.WriteLine($"resumed from step {recovered}");
            Assert.True(recovered >= 2 && recovered % 2 == 0 && recovered <= before.Step, $"resumed from step {recovered}, not from a checkpoint of the first epoch");

            var losses = (await store.QueryMetricsAsync("grpo-survivor", new MetricQuery("loss"))).OrderBy(m => m.Step).ToArray();
            Assert.Equal(Enumerable.Range(1, (int)Steps).Select(s => (long)s), losses.Select(l => l.Step));
            var uninterrupted = Uninterrupted(spec, (await store.GetCheckpointAsync("grpo-pre", 4))!, storage);
            output.WriteLine($"cluster {string.Join(", ", losses.Select(l => l.Value))}\nsingle  {string.Join(", ", uninterrupted)}");
            Assert.Equal(uninterrupted, losses.Select(l => l.Value));
            Assert.All(await store.ListCheckpointsAsync("grpo-survivor"), c => Assert.Equal(("grpo", new CheckpointSource("grpo-pre", 4)), (c.Kind, c.Parent)));
        }
        catch
        {
            cluster.WriteTails(output.WriteLine);
            throw;
        }
    }

    /// <summary>The job's losses in one process, uninterrupted: GrpoTrainer from the parent's weights (one thread, as the rank).</summary>
    private static double[] Uninterrupted(JobSpec spec, CheckpointManifest parent, string storage)
    {
        LibTorchRuntime.Initialize();
        var config = spec.Run.Config();
        TorchSharp.torch.set_num_threads(config.Training!.Threads);
        using var policy = new DeepSeekModel(config.Model!);
        using var reference = new DeepSeekModel(config.Model!);
        ShardLoader.LoadWeights(policy, parent, storage);
        ShardLoader.LoadWeights(reference, parent, storage);
        var problems = GrpoJob.Problems(spec);
        using var trainer = new GrpoTrainer(policy, reference, TokenizerCatalog.Create(ByteTokenizer.CatalogName), GrpoJob.Prompts(problems),
            GrpoJob.Reward(problems), config.Training!, GrpoJob.Options(spec));
        return Enumerable.Range(0, (int)spec.Steps).Select(_ => trainer.TrainStep().Loss).ToArray();
    }
}
