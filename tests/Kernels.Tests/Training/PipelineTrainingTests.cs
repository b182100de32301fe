using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training;

/// <summary>
/// Pipeline-parallel training (stages on threads, activations and gradients through stage links) against the
/// single-process trainer with the same seed, data and micro-batching.
/// </summary>
public sealed class PipelineTrainingTests
{
    private const int Steps = 3;
    private const int Rows = 2;

    public PipelineTrainingTests() => Torch.Ready();

    private static ModelConfig Model(int mtp) => TinyModels.Micro(mtp) with { Layers = 4, DenseLayers = 1 };

    private static TrainingConfig Training(int microBatches) => TinyModels.MicroTraining with { MicroBatchSize = Rows, GradientAccumulation = microBatches };

    private static PatternBatchSource Data(ModelConfig model, TrainingConfig training) => new(257, Rows, training.SequenceLength + 1 + model.MtpDepth);

    private static (List<StepReport> Reports, Dictionary<string, float[]> Weights) Single(ModelConfig model, TrainingConfig training)
    {
        using var trainer = new Trainer(model, training, Data(model, training), Steps);
        var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
        return (reports, trainer.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray()));
    }

    private static (List<StepReport> Reports, List<(string Name, float[] Values)> Weights)[] Pipeline(
        ModelConfig model, TrainingConfig training, string scheduleName, int stages, string transport = "in-process")
    {
        var schedule = PipelineSchedule.Named(scheduleName)!;
        using var links = new InProcessStageLinks(stages);
        using var group = new InProcessGroup(stages);
        var mailboxes = Enumerable.Range(0, stages).Select(_ => new RankMailbox()).ToArray();
        Task Deliver(int to, CollectiveMessage message)
        {
            mailboxes[to].Deliver(message);
            return Task.CompletedTask;
        }

        // In-process: shared memory; mailbox: every tensor as bytes in a message, as grain calls between silos carry them.
        IStageLink Link(int rank) => transport == "in-process" ? links.Link(rank) : new MailboxStageLink(rank, stages, mailboxes[rank], Deliver, TimeSpan.FromMinutes(1));
        ICollective Collective(int rank) => transport == "in-process" ? group.Collective(rank) : new MailboxCollective(rank, stages, mailboxes[rank], Deliver, TimeSpan.FromMinutes(1));
        var ranks = Enumerable.Range(0, stages).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            using var trainer = new PipelineTrainer(model, training, Data(model, training), Steps, schedule, Link(rank), Collective(rank));
            var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
            var weights = trainer.Chunks.SelectMany(c => c.named_parameters().Select(p => (
                c.HoldsEmbeddingCopy && p.name == "embed" ? "embed.copy" : p.name, p.parameter.data<float>().ToArray()))).ToList();
            return (reports, weights);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(ranks, TimeSpan.FromMinutes(3)), "pipeline ranks did not finish");
        return ranks.Select(t => t.Result).ToArray();
    }

    [Theory]
    [InlineData("1f1b", 2, 4)]
    [InlineData("1f1b", 4, 4)]
    [InlineData("zb1p", 2, 4)]
    [InlineData("zb1p", 4, 8)]
    [InlineData("dualpipev", 2, 4)]
    [InlineData("1f1b", 4, 4, "mailbox")]
    [InlineData("dualpipev", 2, 4, "mailbox")]
    public void APipelineWithoutMtp_EndsEveryStepWithTheSingleProcessWeights_BitForBit(string schedule, int stages, int microBatches, string transport = "in-process")
    {
        var model = Model(mtp: 0);
        var training = Training(microBatches);
        var single = Single(model, training);
        var ranks = Pipeline(model, training, schedule, stages, transport);

        var held = ranks.SelectMany(r => r.Weights).ToList();
        Assert.Equal(single.Weights.Keys.Order(), held.Select(w => w.Name).Order());
        foreach (var (name, values) in held) Assert.True(single.Weights[name].SequenceEqual(values), $"{schedule} pp {stages}: {name} differs from the single-process weights");
        foreach (var (reports, _) in ranks)
            for (var step = 0; step < Steps; step++)
            {
                Assert.Equal(single.Reports[step].MainLoss, reports[step].MainLoss);
                Assert.Equal(single.Reports[step].GradNorm, reports[step].GradNorm);
                Assert.Equal(single.Reports[step].Loads.SelectMany(l => l), reports[step].Loads.SelectMany(l => l));
                Assert.Equal(single.Reports[step].Loss, reports[step].Loss, 1e-6);
            }
    }

    [Theory]
    [InlineData("1f1b", 2, 4)]
    [InlineData("zb1p", 4, 4)]
    [InlineData("dualpipev", 2, 4)]
    public void APipelineWithMtp_KeepsItsEmbeddingCopiesEqual_AndTracksTheSingleProcessRun(string schedule, int stages, int microBatches)
    {
        var model = Model(mtp: 1);
        var training = Training(microBatches);
        var single = Single(model, training);
        var ranks = Pipeline(model, training, schedule, stages);

        var held = ranks.SelectMany(r => r.Weights).ToList();
        var embeddings = held.Where(w => w.Name is "embed" or "embed.copy").ToList();
        Assert.Equal(2, embeddings.Count);
        Assert.True(embeddings[0].Values.SequenceEqual(embeddings[1].Values), "the MTP stage's embedding copy drifted from the first stage's");
        var largest = 0.0;
        foreach (var (name, values) in held.Where(w => w.Name != "embed.copy"))
        {
            var expected = single.Weights[name];
            largest = Math.Max(largest, values.Zip(expected, (a, b) => (double)Math.Abs(a - b)).Max());
        }

        // Not bit for bit: one process adds each micro-batch's main and MTP embedding gradients together before
        // accumulating; the pipeline accumulates each stage's over the micro-batches and then adds the two sums.
        Assert.True(largest < 1e-6, $"{schedule} pp {stages}: weights {largest:E2} from the single-process run");
        foreach (var (reports, _) in ranks)
            for (var step = 0; step < Steps; step++)
            {
                Assert.Equal(single.Reports[step].Loads.SelectMany(l => l), reports[step].Loads.SelectMany(l => l));
                Assert.Equal(single.Reports[step].MainLoss, reports[step].MainLoss, 1e-6);
                Assert.Equal(single.Reports[step].MtpLoss, reports[step].MtpLoss, 1e-6);
            }
    }

    /// <summary>A batch source that fails at one step, as a rank whose data went missing.</summary>
    private sealed class FailingAt(IBatchSource inner, long step) : IBatchSource
    {
        public int VocabSize => inner.VocabSize;

        public void Fill(long at, int microStep, Span<long> destination)
        {
            if (at == step) throw new IOException($"shard unreadable at step {at}");
            inner.Fill(at, microStep, destination);
        }
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("mailbox")]
    public async Task AStageThatFails_ReleasesTheOthers_InsteadOfLeavingThemWaiting(string transport)
    {
        var model = Model(mtp: 0);
        var training = Training(4);
        var schedule = PipelineSchedule.Named("1f1b")!;
        using var links = new InProcessStageLinks(2);
        using var group = new InProcessGroup(2);
        var mailboxes = new[] { new RankMailbox(), new RankMailbox() };
        Task Deliver(int to, CollectiveMessage message)
        {
            mailboxes[to].Deliver(message);
            return Task.CompletedTask;
        }

        var ranks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            IStageLink link = transport == "in-process" ? links.Link(rank) : new MailboxStageLink(rank, 2, mailboxes[rank], Deliver, TimeSpan.FromMinutes(1));
            ICollective collective = transport == "in-process" ? group.Collective(rank) : new MailboxCollective(rank, 2, mailboxes[rank], Deliver, TimeSpan.FromMinutes(1));
            IBatchSource data = rank == 0 ? new FailingAt(Data(model, training), 1) : Data(model, training);
            using var trainer = new PipelineTrainer(model, training, data, Steps, schedule, link, collective);
            for (var s = 0; s < Steps; s++) trainer.TrainStep();
        }, TaskCreationOptions.LongRunning)).ToArray();

        var ended = Task.WhenAll(ranks.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));
        Assert.Same(ended, await Task.WhenAny(ended, Task.Delay(TimeSpan.FromSeconds(30))));
        Assert.IsType<IOException>(ranks[0].Exception!.InnerException);
        Assert.IsType<CollectiveAbortedException>(ranks[1].Exception!.InnerException);
    }

    [Theory]
    [InlineData("1f1b", 2)]
    [InlineData("dualpipev", 2)]
    public async Task ANanStepSkipped_InThePipeline_LeavesTheWeightsOfTheSingleProcessSkip(string scheduleName, int stages)
    {
        var model = Model(mtp: 0);
        var training = Training(4);
        using var single = new Trainer(model, training, Data(model, training), Steps) { OnNonFinite = NonFiniteSteps.Skip, InjectNanAtStep = 1 };
        var expected = Enumerable.Range(0, Steps).Select(_ => single.TrainStep()).ToList();
        var weights = single.NamedTensors().ToDictionary(t => t.Name, t => t.Tensor.data<float>().ToArray());
        Assert.True(expected[1].Skipped);

        var schedule = PipelineSchedule.Named(scheduleName)!;
        using var links = new InProcessStageLinks(stages);
        using var group = new InProcessGroup(stages);
        var ranks = Enumerable.Range(0, stages).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            using var trainer = new PipelineTrainer(model, training, Data(model, training), Steps, schedule, links.Link(rank), group.Collective(rank))
            {
                OnNonFinite = NonFiniteSteps.Skip, InjectNanAtStep = 1,
            };
            var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
            return (reports, trainer.NamedTensors().Select(t => (t.Name, Values: t.Tensor.data<float>().ToArray())).ToList());
        }, TaskCreationOptions.LongRunning)).ToArray();
        var all = Task.WhenAll(ranks);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(3))));
        foreach (var (reports, held) in await all)
        {
            Assert.Equal([false, true, false], reports.Select(r => r.Skipped));
            foreach (var (name, values) in held) Assert.True(weights[name].SequenceEqual(values), $"{scheduleName}: {name} differs from the single-process skip");
        }
    }

    [Fact]
    public async Task ANanStep_WithoutSkip_FailsEveryStage()
    {
        var model = Model(mtp: 0);
        var training = Training(4);
        var schedule = PipelineSchedule.Named("1f1b")!;
        using var links = new InProcessStageLinks(2);
        using var group = new InProcessGroup(2);
        var ranks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            using var trainer = new PipelineTrainer(model, training, Data(model, training), Steps, schedule, links.Link(rank), group.Collective(rank)) { InjectNanAtStep = 0 };
            trainer.TrainStep();
        }, TaskCreationOptions.LongRunning)).ToArray();
        var ended = Task.WhenAll(ranks.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));
        Assert.Same(ended, await Task.WhenAny(ended, Task.Delay(TimeSpan.FromMinutes(1))));
        Assert.All(ranks, r => Assert.IsType<NonFiniteLossException>(r.Exception!.InnerException));
    }
}
