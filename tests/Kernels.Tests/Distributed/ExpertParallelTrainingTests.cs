using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Distributed;

public sealed class ExpertParallelTrainingTests
{
    public ExpertParallelTrainingTests() => Torch.Ready();

    private const int Steps = 6;
    private const int GlobalRows = 8;

    /// <summary>Rank r's rows of the global batch the single-process run trains on.</summary>
    private sealed class RankSlice(IBatchSource global, int rank, int rowsPerRank, int window) : IBatchSource
    {
        public int VocabSize => global.VocabSize;

        public void Fill(long step, int microStep, Span<long> destination)
        {
            var all = new long[rowsPerRank * window * (GlobalRows / rowsPerRank)];
            global.Fill(step, microStep, all);
            all.AsSpan(rank * rowsPerRank * window, rowsPerRank * window).CopyTo(destination);
        }
    }

    private static (List<StepReport> Reports, float[][] Biases) Single()
    {
        var training = TinyModels.MicroTraining with { MicroBatchSize = GlobalRows };
        using var trainer = new Trainer(TinyModels.Micro(), training, new PatternBatchSource(257, GlobalRows, training.SequenceLength + 2), Steps);
        var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
        return (reports, trainer.Model.MoeLayers.Select(m => m.ExpertBias.data<float>().ToArray()).ToArray());
    }

    /// <summary>Collectives for every rank: the shared-memory group, or messages through mailboxes (as between silos).</summary>
    private static Func<int, ICollective> Transport(string kind, int world)
    {
        if (kind == "in-process")
        {
            var group = new InProcessGroup(world);
            return group.Collective;
        }
        var mailboxes = Enumerable.Range(0, world).Select(_ => new RankMailbox()).ToArray();
        return rank => new MailboxCollective(rank, world, mailboxes[rank], (to, message) =>
        {
            mailboxes[to].Deliver(message);
            return Task.CompletedTask;
        }, TimeSpan.FromMinutes(1));
    }

    private static (List<StepReport> Reports, float[][] Biases)[] ExpertParallel(int world, string transport = "in-process")
    {
        var collectives = Transport(transport, world);
        var rows = GlobalRows / world;
        var training = TinyModels.MicroTraining with { MicroBatchSize = rows };
        var window = training.SequenceLength + 2;
        var ranks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            var parallel = new ExpertParallelism(collectives(rank), ExpertPlacement.Create(TinyModels.Micro().RoutedExperts, world));
            var source = new RankSlice(new PatternBatchSource(257, GlobalRows, window), rank, rows, window);
            using var trainer = new Trainer(TinyModels.Micro(), training, source, Steps, parallel);
            var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
            return (reports, trainer.Model.MoeLayers.Select(m => m.ExpertBias.data<float>().ToArray()).ToArray());
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(ranks, TimeSpan.FromMinutes(3)), "expert-parallel ranks did not finish");
        return ranks.Select(t => t.Result).ToArray();
    }

    [Theory]
    [InlineData(2, "in-process")]
    [InlineData(4, "in-process")]
    [InlineData(4, "mailbox")]
    public void ExpertParallelRun_RoutesAndBalancesIdentically_AndMatchesTheSingleProcessLoss(int world, string transport)
    {
        var single = Single();
        var ranks = ExpertParallel(world, transport);

        foreach (var (reports, biases) in ranks)
        {
            for (var step = 0; step < Steps; step++)
            {
                // Loads are exact integer sums: identical routing decisions at every step.
                Assert.Equal(single.Reports[step].Loads.SelectMany(l => l), reports[step].Loads.SelectMany(l => l));
                // Within 1e-6 relative, not bit-exact: attention runs on a rank's rows only, and a
                // GEMM over fewer rows may block its sums differently; reductions also sum in another order.
                Assert.Equal(single.Reports[step].Loss, reports[step].Loss, single.Reports[step].Loss * 1e-6);
            }
            for (var layer = 0; layer < biases.Length; layer++) Assert.Equal(single.Biases[layer], biases[layer]);
        }
    }

    [Fact]
    public void ExpertParallelRank_HoldsOnlyItsExperts()
    {
        using var group = new InProcessGroup(4);
        var parallel = new ExpertParallelism(group.Collective(1), ExpertPlacement.Create(16, 4));
        using var model = new Orchestrator.Kernels.Model.DeepSeekModel(TinyModels.Micro(), 1, parallel);

        var experts = model.named_parameters().Select(p => p.name).Where(Orchestrator.Kernels.Model.DeepSeekModel.IsRoutedExpertParameter)
            .Select(n => int.Parse(n.Split(".experts.")[1].Split('.')[0], System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order().ToArray();

        Assert.Equal([4, 5, 6, 7], experts);
    }

    [Fact]
    public void Placement_RefusesExpertsNotDivisibleByTheRanks()
    {
        var error = Assert.Throws<ArgumentException>(() => ExpertPlacement.Create(16, 3));
        Assert.Contains("n_routed_experts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MailboxRank_WhosePeerNeverAnswers_GivesUpNamingThePeer()
    {
        var mailbox = new RankMailbox();
        var collective = new MailboxCollective(0, 2, mailbox, (_, _) => Task.CompletedTask, TimeSpan.FromMilliseconds(300));

        var error = Assert.Throws<CollectiveAbortedException>(() => collective.AllGather([1]));

        Assert.Contains("rank 1", error.Message, StringComparison.Ordinal);
        Assert.True(mailbox.Aborted);
    }

    [Fact]
    public void AFailingRank_ReleasesTheOthers_InsteadOfHanging()
    {
        using var group = new InProcessGroup(2);
        var waiting = Task.Run(() => group.Collective(0).AllGather([1, 2]));
        group.Collective(1).Abort("out of memory");

        var error = Assert.Throws<AggregateException>(() => waiting.Wait(TimeSpan.FromSeconds(10)));
        Assert.IsType<CollectiveAbortedException>(error.InnerException);
        Assert.Contains("rank 1: out of memory", error.InnerException!.Message, StringComparison.Ordinal);
    }
}
