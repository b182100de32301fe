using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// An sft job on the ranks of a real silo process on a real PostgreSQL: it starts from a pretrain job's committed
/// checkpoint (its weights, step 0), trains the masked objective on packed rows, and its checkpoints record kind and parent.
/// Refused submissions (bad data line, missing parent) store nothing (grpo's: GrpoJobTests).
/// </summary>
public sealed class SftJobTests(OneNodeCluster cluster, ITestOutputHelper output) : IClassFixture<OneNodeCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private string Storage => Path.Combine(cluster.Root, "storage");

    [Fact]
    public async Task AnSftJob_StartsFromThePretrainCheckpoint_AndItsIndexRowsCarryKindAndParent()
    {
        var parent = cluster.Client.GetGrain<IJobGrain>("sft-parent");
        var pretrain = TinyJob.Spec("sft-parent", cluster.Data, 4);
        pretrain["model"]!["max_seq_len"] = 128; // the sft job's model is the parent's, with room for its longer rows
        await parent.Submit(JobSpecParser.Parse(pretrain.ToJsonString()));
        Assert.Equal(JobPhase.Completed, (await OneNodeCluster.WaitForAsync(parent, s => s.IsFinal, Patience)).Phase);
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("sft-parent").Drain(Patience));

        var spec = JobSpecParser.Parse(SftSpec("sft-child", WriteData("good.jsonl", 24), parentStep: 4).ToJsonString());
        var child = cluster.Client.GetGrain<IJobGrain>("sft-child");
        await child.Submit(spec);
        var final = await OneNodeCluster.WaitForAsync(child, s => s.IsFinal, Patience);
        output.WriteLine($"sft: {final.Phase} at step {final.Step}, loss {final.Loss:F4} ({final.Error})");
        Assert.Equal((JobPhase.Completed, 4L, (string?)null), (final.Phase, final.Step, final.Error));
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("sft-child").Drain(Patience));

        var pretrained = await cluster.Store.GetCheckpointAsync("sft-parent", 4);
        Assert.Equal(("pretrain", (CheckpointSource?)null), (pretrained!.Kind, pretrained.Parent));
        var rows = await cluster.Store.ListCheckpointsAsync("sft-child");
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(("sft", new CheckpointSource("sft-parent", 4)), (r.Kind, r.Parent)));

        // The ranks' first step is the one a trainer started from the parent's weights takes (step 0, fresh moments) ...
        var losses = await cluster.Store.QueryMetricsAsync("sft-child", new MetricQuery("loss"));
        Assert.Equal([1L, 2, 3, 4], losses.Select(l => l.Step));
        LibTorchRuntime.Initialize();
        var fromParent = FirstLoss(spec, pretrained);
        Assert.Equal(fromParent, losses[0].Value, 5);
        // ... and not the one from the seed: the weights came from the pretrain job.
        Assert.NotEqual(Math.Round(FirstLoss(spec, null), 5), Math.Round(losses[0].Value, 5));
    }

    [Fact]
    public async Task Submission_RefusesABadDataLine_AndAMissingParent_StoringNothing()
    {
        var bad = WriteData("bad.jsonl", 3) + ".bad";
        File.WriteAllLines(bad, [File.ReadAllLines(WriteData("bad.jsonl", 3))[0], "{\"prompt\": \"2+2?\"}"]);
        var error = await Assert.ThrowsAsync<JobSpecException>(() =>
            cluster.Client.GetGrain<IJobGrain>("sft-bad").Submit(JobSpecParser.Parse(SftSpec("sft-bad", bad, 2).ToJsonString())));
        Assert.StartsWith("data: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 2: missing \"response\"", error.Message, StringComparison.Ordinal);
        Assert.Null(await cluster.Store.GetJobAsync("sft-bad"));

        var orphan = SftSpec("sft-orphan", WriteData("orphan.jsonl", 3), 2);
        orphan["sft"]!["from_checkpoint"]!["job"] = "no-such-job";
        error = await Assert.ThrowsAsync<JobSpecException>(() =>
            cluster.Client.GetGrain<IJobGrain>("sft-orphan").Submit(JobSpecParser.Parse(orphan.ToJsonString())));
        Assert.StartsWith("sft.from_checkpoint: there is no job 'no-such-job'", error.Message, StringComparison.Ordinal);
        Assert.Null(await cluster.Store.GetJobAsync("sft-orphan"));
    }

    private static JsonObject SftSpec(string id, string data, long parentStep)
    {
        var spec = TinyJob.Spec(id, data, 4);
        spec["kind"] = "sft";
        spec["model"]!["max_seq_len"] = 128;
        spec["training"]!["seq_len"] = 127; // a row of 128 tokens holds one or two examples
        spec["training"]!["lr"] = 0.001;
        spec["sft"] = new JsonObject { ["from_checkpoint"] = new JsonObject { ["job"] = "sft-parent", ["step"] = parentStep } };
        return spec;
    }

    /// <summary>Short R1-format examples (a few dozen byte tokens each).</summary>
    private string WriteData(string name, int count)
    {
        var path = Path.Combine(cluster.Root, name);
        File.WriteAllLines(path, Enumerable.Range(1, count).Select(i =>
            $"{{\"prompt\": \"{i}+{i + 1}?\", \"response\": \"<think>{i}+{i + 1}={2 * i + 1}</think><answer>{2 * i + 1}</answer>\"}}"));
        return path;
    }

    /// <summary>The first step's loss of the job's objective in this process, from the parent's weights or (null) the seed.</summary>
    private double FirstLoss(JobSpec spec, CheckpointManifest? parent)
    {
        var config = spec.Run.Config();
        var (model, training) = (config.Model!, config.Training!);
        var tokenizer = TokenizerCatalog.Create(spec.Sft!.Tokenizer);
        var packing = new SftPacking(JobData.Examples(spec), training.SequenceLength + 1, training.Seed, tokenizer.EndOfText);
        var source = new PackedSftSource(packing, training.Seed, training.MicroBatchSize, training.GradientAccumulation, vocabSize: tokenizer.VocabSize);
        using var trainer = new Trainer(model, training, new SftObjective(source), spec.Steps);
        if (parent is not null) ShardLoader.Initialize(trainer, parent, Storage);
        return trainer.TrainStep().Loss;
    }
}
