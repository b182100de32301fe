using Orchestrator.Kernels.Configuration;
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

    private static (List<StepReport> Reports, float[][] Biases) Single(ModelConfig? model = null)
    {
        var training = TinyModels.MicroTraining with { MicroBatchSize = GlobalRows };
        using var trainer = new Trainer(model ?? TinyModels.Micro(), training, new PatternBatchSource(257, GlobalRows, training.SequenceLength + 2), Steps);
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

    /// <summary>Trains <paramref name="world"/> EP ranks; each runs <paramref name="train"/> (by default <see cref="Steps"/> plain steps).</summary>
    private static (List<StepReport> Reports, float[][] Biases)[] ExpertParallel(
        int world, string transport = "in-process", ModelConfig? model = null, Func<Trainer, int, List<StepReport>>? train = null)
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
            using var trainer = new Trainer(model ?? TinyModels.Micro(), training, source, Steps, parallel);
            var reports = train?.Invoke(trainer, rank) ?? Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
            return (reports, trainer.Model.MoeLayers.Select(m => m.ExpertBias.data<float>().ToArray()).ToArray());
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(ranks, TimeSpan.FromMinutes(3)), "expert-parallel ranks did not finish");
        return ranks.Select(t => t.Result).ToArray();
    }

    [Theory]
    [InlineData(2, "in-process", "off")]
    [InlineData(4, "in-process", "off")]
    [InlineData(4, "mailbox", "off")]
    [InlineData(2, "in-process", "on")]
    public void ExpertParallelRun_RoutesAndBalancesIdentically_AndMatchesTheSingleProcessLoss(int world, string transport, string grouped)
    {
        var model = TinyModels.Micro() with { GroupedExperts = grouped };
        var single = Single(model);
        var ranks = ExpertParallel(world, transport, model);

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

    /// <summary>Every rank's groups in an ep × dp layout, as the cluster builds them (<see cref="ParallelGroups"/>).</summary>
    private static Func<int, ExpertParallelism> Layout(int ep, int dp, string transport)
    {
        var layout = new ParallelLayout(ep, dp);
        var placement = ExpertPlacement.Create(TinyModels.Micro().RoutedExperts, ep);
        var groups = Enumerable.Range(0, layout.Ranks).Select(rank => new ParallelGroups(layout, rank)).ToArray();
        Func<ProcessGroup, int, ICollective> join;
        if (transport == "in-process")
        {
            var shared = groups.SelectMany(g => new[] { g.World, g.Experts, g.Replicas }).OfType<ProcessGroup>()
                .DistinctBy(g => g.Number).ToDictionary(g => g.Number, g => new InProcessGroup(g.Members.Count));
            join = (group, rank) => shared[group.Number].Collective(group.IndexOf(rank));
        }
        else
        {
            var mailboxes = Enumerable.Range(0, layout.Ranks).Select(_ => new RankMailbox()).ToArray();
            join = (group, rank) => new MailboxCollective(group.IndexOf(rank), group.Members.Count, mailboxes[rank],
                (to, message) =>
                {
                    mailboxes[to].Deliver(message);
                    return Task.CompletedTask;
                }, TimeSpan.FromMinutes(1), group.Number, group.Members);
        }
        return rank =>
        {
            var g = groups[rank];
            var world = join(g.World, rank);
            return new ExpertParallelism(g.Experts == g.World ? world : join(g.Experts, rank), placement)
            {
                World = world,
                Replicas = g.Replicas is { } replicas ? join(replicas, rank) : null,
            };
        };
    }

    [Theory]
    [InlineData(2, 2, "in-process")]
    [InlineData(2, 2, "mailbox")]
    [InlineData(1, 2, "in-process")]
    public async Task ExpertAndDataParallelRun_MatchesTheSingleProcessRun(int ep, int dp, string transport)
    {
        var single = Single();
        var layout = Layout(ep, dp, transport);
        var world = ep * dp;
        var rows = GlobalRows / world;
        var training = TinyModels.MicroTraining with { MicroBatchSize = rows };
        var window = training.SequenceLength + 2;
        var ranks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            var source = new RankSlice(new PatternBatchSource(257, GlobalRows, window), rank, rows, window);
            using var trainer = new Trainer(TinyModels.Micro(), training, source, Steps, layout(rank));
            var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
            var experts = trainer.Model.named_parameters().Where(p => Orchestrator.Kernels.Model.DeepSeekModel.IsRoutedExpertParameter(p.name))
                .Select(p => (p.name, Values: p.parameter.data<float>().ToArray())).ToList();
            return (reports, Biases: trainer.Model.MoeLayers.Select(m => m.ExpertBias.data<float>().ToArray()).ToArray(), experts);
        }, TaskCreationOptions.LongRunning)).ToArray();
        var done = await Task.WhenAll(ranks).WaitAsync(TimeSpan.FromMinutes(3));

        foreach (var (reports, biases, _) in done)
        {
            for (var step = 0; step < Steps; step++)
            {
                Assert.Equal(single.Reports[step].Loads.SelectMany(l => l), reports[step].Loads.SelectMany(l => l));
                Assert.Equal(single.Reports[step].Loss, reports[step].Loss, single.Reports[step].Loss * 1e-6);
                Assert.Equal(single.Reports[step].GradNorm, reports[step].GradNorm, single.Reports[step].GradNorm * 1e-5);
            }
            for (var layer = 0; layer < biases.Length; layer++) Assert.Equal(single.Biases[layer], biases[layer]);
        }
        // The replicas of a shard stay identical to the bit: they apply the same summed gradient.
        for (var rank = ep; rank < world; rank++)
        {
            var replica = done[rank].experts;
            var primary = done[rank % ep].experts;
            Assert.Equal(primary.Select(p => p.name), replica.Select(p => p.name));
            for (var i = 0; i < primary.Count; i++) Assert.Equal(primary[i].Values, replica[i].Values);
        }
    }

    [Fact]
    public async Task BiasBroadcast_GivesEveryRankTheRootAuthoritysAnswer_AskingItOncePerStep()
    {
        using var group = new InProcessGroup(3);
        var root = new CountingAuthority();
        var results = Enumerable.Range(0, 3).Select(rank => Task.Run(() =>
            new BroadcastBiasAuthority(group.Collective(rank), rank == 0 ? root : null)
                .Update(7, [[1, 2], [3, 4, 5]], 0.5, [[0f, 0f], [0f, 0f, 0f]]))).ToArray();
        var answers = await Task.WhenAll(results).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, root.Calls);
        foreach (var result in answers)
        {
            Assert.Equal([7.5f, -1.25f], result[0]);
            Assert.Equal([7.5f, -1.25f, 3f], result[1]);
        }
    }

    private sealed class CountingAuthority : Orchestrator.Kernels.Balancing.IExpertBiasAuthority
    {
        public int Calls { get; private set; }

        public float[][] Update(long step, IReadOnlyList<long[]> loads, double gamma, IReadOnlyList<float[]> biases)
        {
            Calls++;
            return loads.Select(l => l.Select((_, i) => i switch { 0 => step + (float)gamma, 1 => -1.25f, _ => 3f }).ToArray()).ToArray();
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

    /// <summary>
    /// One rank wants to stop after step 3 (its time limit, say) while the other would go on: the votes travel
    /// in the step's loss all-reduce, so both learn it from the same step and leave together; the vote
    /// changes no value of the step.
    /// </summary>
    [Theory]
    [InlineData("in-process")]
    [InlineData("mailbox")]
    public void ARanksStopVote_EndsEveryRankAfterTheSameStep_AndChangesNoValue(string transport)
    {
        const int world = 2;
        // A rank left to go on alone would wait in a collective until the helper's timeout fails the test.
        var voted = ExpertParallel(world, transport, train: (trainer, rank) =>
        {
            var reports = new List<StepReport>();
            var goOn = true;
            while (goOn && trainer.Step < Steps)
            {
                var report = trainer.TrainStep(() => rank != 1 || trainer.Step < 2); // rank 1 votes no during step 3
                reports.Add(report);
                goOn = report.EveryRankGoesOn;
            }

            return reports;
        }).Select(r => r.Reports).ToArray();
        var unvoted = ExpertParallel(world, transport);
        for (var rank = 0; rank < world; rank++)
        {
            Assert.Equal([1L, 2, 3], voted[rank].Select(r => r.Step));
            Assert.Equal([true, true, false], voted[rank].Select(r => r.EveryRankGoesOn));
            Assert.Equal(unvoted[rank].Reports.Take(3).Select(r => r.Loss), voted[rank].Select(r => r.Loss));
        }
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
