using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training;

/// <summary>
/// A step whose loss is NaN (injected through <see cref="Trainer.InjectNanAtStep"/>) under <see cref="NonFiniteSteps.Skip"/>:
/// nothing of it is applied (parameters, AdamW moments and updates, expert biases), the run goes on, every expert-parallel
/// rank skips the same step when only one of them saw the NaN, and a finite run is bit-identical in either mode.
/// </summary>
public sealed class NonFiniteStepTests
{
    public NonFiniteStepTests() => Torch.Ready();

    private static Trainer NewTrainer(NonFiniteSteps mode, long? nanAt = null, ExpertParallelism? parallel = null, int rows = 4) =>
        new(TinyModels.Micro(), TinyModels.MicroTraining with { MicroBatchSize = rows }, new PatternBatchSource(257, rows, TinyModels.MicroTraining.SequenceLength + 2), 8, parallel)
        {
            OnNonFinite = mode,
            InjectNanAtStep = nanAt,
        };

    private static List<byte[]> State(Trainer trainer) =>
        [.. TrainerShards.Snapshot(trainer, _ => true).Entries.Select(e => e.Data.ToArray())];

    [Fact]
    public void ASkippedStep_AppliesNothing_AndTheRunGoesOn()
    {
        using var trainer = NewTrainer(NonFiniteSteps.Skip, nanAt: 2);
        trainer.TrainStep();
        trainer.TrainStep();
        var before = State(trainer);
        var updates = trainer.Optimizer.Updates;

        var skipped = trainer.TrainStep();

        Assert.True(skipped.Skipped);
        Assert.True(double.IsNaN(skipped.Loss));
        Assert.Equal(3, skipped.Step); // the data moves on: the next step trains on step 3's batch
        Assert.Equal(updates, trainer.Optimizer.Updates);
        var after = State(trainer);
        Assert.Equal(before.Count, after.Count);
        Assert.All(before.Zip(after), p => Assert.Equal(p.First, p.Second)); // every parameter, moment and bias, to the bit

        var next = trainer.TrainStep();
        Assert.False(next.Skipped);
        Assert.True(double.IsFinite(next.Loss));
        Assert.Equal(updates + 1, trainer.Optimizer.Updates);
        Assert.Contains(before.Zip(State(trainer)), p => !p.First.AsSpan().SequenceEqual(p.Second)); // a finite step does change them
    }

    [Fact]
    public void AnInjectedNan_InFailMode_Throws_AndAppliesNothing()
    {
        using var trainer = NewTrainer(NonFiniteSteps.Fail, nanAt: 1);
        trainer.TrainStep();
        var before = State(trainer);

        var error = Assert.Throws<NonFiniteLossException>(() => trainer.TrainStep());

        Assert.Contains("NaN", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, trainer.Step);
        Assert.All(before.Zip(State(trainer)), p => Assert.Equal(p.First, p.Second));
    }

    [Fact]
    public void AFiniteRun_IsBitIdentical_InSkipAndFailModes()
    {
        using var fail = NewTrainer(NonFiniteSteps.Fail);
        using var skip = NewTrainer(NonFiniteSteps.Skip);

        for (var step = 0; step < 4; step++)
        {
            var (a, b) = (fail.TrainStep(), skip.TrainStep());
            Assert.Equal(BitConverter.DoubleToInt64Bits(a.Loss), BitConverter.DoubleToInt64Bits(b.Loss));
            Assert.False(b.Skipped);
        }

        Assert.All(State(fail).Zip(State(skip)), p => Assert.Equal(p.First, p.Second));
    }

    [Fact]
    public async Task ANanOnOneExpertParallelRank_IsSkippedByEveryRank_AndTheirReplicasStayEqual()
    {
        const int world = 2;
        using var group = new InProcessGroup(world);
        var ranks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            var parallel = new ExpertParallelism(group.Collective(rank), ExpertPlacement.Create(TinyModels.Micro().RoutedExperts, world));
            using var trainer = NewTrainer(NonFiniteSteps.Skip, nanAt: rank == 1 ? 2 : null, parallel, rows: 2); // only rank 1 sees the NaN
            var reports = Enumerable.Range(0, 5).Select(_ => trainer.TrainStep()).ToList();
            var dense = trainer.Model.named_parameters().Where(p => !DeepSeekModel.IsRoutedExpertParameter(p.name))
                .Select(p => p.parameter.data<float>().ToArray()).ToList();
            return (reports, dense, updates: trainer.Optimizer.Updates);
        }, TaskCreationOptions.LongRunning)).ToArray();
        var results = await Task.WhenAll(ranks).WaitAsync(TimeSpan.FromMinutes(3));

        foreach (var (reports, _, updates) in results)
        {
            Assert.Equal([false, false, true, false, false], reports.Select(r => r.Skipped));
            Assert.Equal(4, updates);
        }

        Assert.All(results[0].dense.Zip(results[1].dense), p => Assert.Equal(p.First, p.Second)); // the dense replicas agree to the bit
    }
}
