using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training.Rl;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// A grpo job over two expert-parallel ranks of a real silo process on a real PostgreSQL: it starts from a pretrain
/// job's committed checkpoint (weights only, step 0), its losses and final weights are the single-process
/// <see cref="GrpoTrainer"/>'s on the same prompts, seed and weights (within float noise: each rank runs its own rows,
/// gradients are summed in rank order), and its checkpoints record kind and parent. Refused submissions store nothing.
/// </summary>
public sealed class GrpoJobTests(OneNodeCluster cluster, ITestOutputHelper output) : IClassFixture<OneNodeCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);
    private const long Steps = 3;

    private string Storage => Path.Combine(cluster.Root, "storage");

    [Fact]
    public async Task AGrpoJobOnTwoEpRanks_IsTheSingleProcessTrainer_AndItsCheckpointsCarryKindAndParent()
    {
        await PretrainAsync();
        var spec = JobSpecParser.Parse(GrpoSpec("grpo-ep2", WritePrompts("prompts.jsonl", 8)).ToJsonString());
        var job = cluster.Client.GetGrain<IJobGrain>("grpo-ep2");
        await job.Submit(spec);
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, Patience);
        output.WriteLine($"grpo: {final.Phase} at step {final.Step}, loss {final.Loss:F6} ({final.Error})");
        Assert.Equal((JobPhase.Completed, Steps, (string?)null), (final.Phase, final.Step, final.Error));
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("grpo-ep2").Drain(Patience));

        var rows = await cluster.Store.ListCheckpointsAsync("grpo-ep2");
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(("grpo", new CheckpointSource("grpo-pre", 4)), (r.Kind, r.Parent)));

        // The same job in this process, in one GrpoTrainer: the parent's weights as policy and reference.
        LibTorchRuntime.Initialize();
        var parent = await cluster.Store.GetCheckpointAsync("grpo-pre", 4);
        var config = spec.Run.Config();
        using var policy = Load(config.Model!, parent!);
        using var reference = Load(config.Model!, parent!);
        var problems = GrpoJob.Problems(spec);
        using var trainer = new GrpoTrainer(policy, reference, TokenizerCatalog.Create(ByteTokenizer.CatalogName), GrpoJob.Prompts(problems),
            GrpoJob.Reward(problems), config.Training!, GrpoJob.Options(spec));
        var expected = Enumerable.Range(0, (int)Steps).Select(_ => trainer.TrainStep().Loss).ToArray();

        var losses = await cluster.Store.QueryMetricsAsync("grpo-ep2", new MetricQuery("loss"));
        Assert.Equal([1L, 2, 3], losses.Select(l => l.Step));
        output.WriteLine($"job {string.Join(", ", losses.Select(l => l.Value))}; one process {string.Join(", ", expected)}");
        // Relative 1e-5: the tiny parent earns no R1 reward yet (equal rewards, zero advantages), so the losses are the small
        // KL term the passes and weight decay open up; GrpoObjectiveTests checks the advantage path over EP ranks with a paid reward.
        for (var step = 0; step < Steps; step++) Assert.Equal(expected[step], losses[step].Value, Math.Abs(expected[step]) * 1e-5 + 1e-12);
        Assert.True(expected[1] > 0, "after the first step's passes the policy has left the reference");

        // Rank 0's report carries the job-wide rollout statistics: every series per step, and a few completions as events.
        foreach (var name in new[] { "grpo_reward", "grpo_accuracy", "grpo_format", "grpo_length", "grpo_kl", "grpo_clip", "generation_tokens_per_s" })
            Assert.Equal([1L, 2, 3], (await cluster.Store.QueryMetricsAsync("grpo-ep2", new MetricQuery(name))).Select(m => m.Step));
        var lengths = await cluster.Store.QueryMetricsAsync("grpo-ep2", new MetricQuery("grpo_length"));
        Assert.All(lengths, l => Assert.InRange(l.Value, 1, 12));
        Assert.Equal(0, (await cluster.Store.QueryMetricsAsync("grpo-ep2", new MetricQuery("grpo_kl")))[0].Value, 9); // the first pass is on the reference
        Assert.All(await cluster.Store.QueryMetricsAsync("grpo-ep2", new MetricQuery("generation_tokens_per_s")), m => Assert.True(m.Value > 0));
        Assert.Empty(await cluster.Store.QueryMetricsAsync("grpo-ep2", new MetricQuery("mtp_acceptance"))); // the rollouts do not speculate
        var samples = (await cluster.Store.ListJobEventsAsync("grpo-ep2")).Where(e => e.Kind == "grpo-samples")
            .Select(e => JsonNode.Parse(e.DetailJson!)!).ToArray();
        Assert.Equal([1L, 2, 3], samples.Select(e => e["step"]!.GetValue<long>()));
        Assert.All(samples, e => Assert.Equal(2, e["samples"]!.AsArray().Count)); // rank 0's two groups, their first completions

        using var trained = Load(config.Model!, (await cluster.Store.GetCheckpointAsync("grpo-ep2", Steps))!);
        using var start = Load(config.Model!, parent!);
        Assert.Contains(start.named_parameters().Zip(trained.named_parameters()), p => !p.First.parameter.allclose(p.Second.parameter, rtol: 0, atol: 1e-6));
        var mine = policy.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
        foreach (var (name, weights) in trained.named_parameters())
        {
            var largest = mine[name].Zip(weights.data<float>().ToArray()).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(largest <= 1e-5, $"{name}: the job's weights differ from the single process's by {largest}");
        }
    }

    [Fact]
    public async Task Submission_RefusesBadGrpoSpecs_NamingTheField_StoringNothing()
    {
        await PretrainAsync();
        var prompts = WritePrompts("refused.jsonl", 4);

        await Refused("grpo-orphan", GrpoSpec("grpo-orphan", prompts, from: "no-such-job"), "grpo.from_checkpoint: there is no job 'no-such-job'");
        var noStep = GrpoSpec("grpo-no-step", prompts);
        noStep["grpo"]!["reference"] = new JsonObject { ["job"] = "grpo-pre", ["step"] = 3 };
        await Refused("grpo-no-step", noStep, "grpo.reference: job 'grpo-pre' has no committed checkpoint at step 3");
        var tooLong = GrpoSpec("grpo-too-long", prompts);
        tooLong["grpo"]!["max_new_tokens"] = 60;
        await Refused("grpo-too-long", tooLong, "grpo.max_new_tokens: 60 new tokens after the longest prompt");
        var words = Path.Combine(cluster.Root, "words.jsonl");
        File.WriteAllLines(words, ["{\"prompt\": \"1+2?\", \"answer\": \"3\"}", "{\"prompt\": \"2+2?\", \"answer\": \"four\"}"]);
        await Refused("grpo-words", GrpoSpec("grpo-words", words), "data: ");

        var small = GrpoSpec("grpo-small", prompts);
        small["grpo"]!["group_size"] = 1;
        Assert.StartsWith("grpo.group_size: must be at least 2", Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(small.ToJsonString())).Message,
            StringComparison.Ordinal);
        Assert.Null(await cluster.Store.GetJobAsync("grpo-small"));
    }

    private async Task Refused(string id, JsonObject spec, string message)
    {
        var error = await Assert.ThrowsAsync<JobSpecException>(() => cluster.Client.GetGrain<IJobGrain>(id).Submit(JobSpecParser.Parse(spec.ToJsonString())));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Null(await cluster.Store.GetJobAsync(id));
    }

    /// <summary>The parent: a pretrain job of 4 steps (once per fixture), its checkpoint at step 4 committed.</summary>
    private async Task PretrainAsync()
    {
        var parent = cluster.Client.GetGrain<IJobGrain>("grpo-pre");
        if (await cluster.Store.GetJobAsync("grpo-pre") is not null && await cluster.Store.GetCheckpointAsync("grpo-pre", 4) is not null) return;
        if (await cluster.Store.GetJobAsync("grpo-pre") is null) await parent.Submit(JobSpecParser.Parse(TinyJob.Spec("grpo-pre", cluster.Data, 4).ToJsonString()));
        Assert.Equal(JobPhase.Completed, (await OneNodeCluster.WaitForAsync(parent, s => s.IsFinal, Patience)).Phase);
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("grpo-pre").Drain(Patience));
    }

    /// <summary>A grpo job of <see cref="Steps"/> steps on ep 2: 2 groups of 4 rollouts per rank and step, a constant rate.</summary>
    internal static JsonObject GrpoSpec(string id, string prompts, string from = "grpo-pre")
    {
        var spec = TinyJob.Spec(id, prompts, Steps);
        spec["kind"] = "grpo";
        spec["parallel"] = new JsonObject { ["ep"] = 2, ["dp"] = 1 };
        spec["checkpoint"] = new JsonObject { ["every"] = 1, ["keep"] = 3 };
        spec["training"]!["warmup_steps"] = 0;
        spec["training"]!["lr"] = 0.003;
        spec["training"]!["min_lr"] = 0.003;
        spec["grpo"] = new JsonObject
        {
            ["from_checkpoint"] = new JsonObject { ["job"] = from, ["step"] = 4 }, ["group_size"] = 4, ["passes"] = 2, ["max_new_tokens"] = 12,
            ["kl_coef"] = 0.04,
        };
        return spec;
    }

    /// <summary>Arithmetic prompts with numeric answers, short enough for the tiny model's window.</summary>
    internal string WritePrompts(string name, int count)
    {
        var path = Path.Combine(cluster.Root, name);
        File.WriteAllLines(path, Enumerable.Range(1, count).Select(i => $"{{\"prompt\": \"{i}+{i + 2}?\", \"answer\": \"{2 * i + 2}\"}}"));
        return path;
    }

    private DeepSeekModel Load(Kernels.Configuration.ModelConfig config, CheckpointManifest manifest)
    {
        var model = new DeepSeekModel(config);
        ShardLoader.LoadWeights(model, manifest, Storage);
        return model;
    }
}
