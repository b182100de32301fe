using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>Live re-placement at a step boundary (EP 4, in-process): weights and AdamW moments move, the math does not change.</summary>
public sealed class ExpertMoveTests
{
    public ExpertMoveTests() => Torch.Ready();

    private const int Steps = 6;
    private const int World = 4;

    private sealed record RankRun(List<StepReport> Reports, List<Dictionary<(int Layer, int Expert), float[]>> Experts, List<ExpertMoveReport> Moves)
    {
        /// <summary>After the last step: the routed experts' parameter names the model lists, and the optimizer's moments of them.</summary>
        public (string[] Parameters, int Moments) Held { get; set; }
    }

    /// <summary>Trains <see cref="Steps"/> steps, moving to <paramref name="moves"/>[step] before that step where given.</summary>
    private static RankRun[] Train(IReadOnlyDictionary<int, ExpertMap> moves) =>
        ExpertMapRanks.Run(World, null, Steps, (trainer, rank) =>
        {
            var run = new RankRun([], [], []);
            for (var step = 0; step < Steps; step++)
            {
                if (moves.TryGetValue(step, out var map)) run.Moves.Add(trainer.MoveExperts(map));
                run.Reports.Add(trainer.TrainStep());
                run.Experts.Add(ExpertMapRanks.Experts(trainer, rank));
            }
            run.Held = ([.. trainer.Model.named_parameters().Select(p => p.name).Where(Orchestrator.Kernels.Model.DeepSeekModel.IsRoutedExpertParameter)],
                trainer.Optimizer.State().Count(m => Orchestrator.Kernels.Model.DeepSeekModel.IsRoutedExpertParameter(m.Name)));
            return run;
        });

    [Fact]
    public void MovingMidRun_ToPermutedMapsAndBack_GivesTheBitsOfNotMoving()
    {
        var still = Train(new Dictionary<int, ExpertMap>());
        var identityAgain = ExpertMap.Identity(ExpertPlacement.Create(16, World), 2);
        var moved = Train(new Dictionary<int, ExpertMap> { [2] = ExpertMapRanks.Permuted(1), [4] = new ExpertMap(2, identityAgain.Layers) });

        for (var rank = 0; rank < World; rank++)
        {
            Assert.Equal(still[rank].Reports.Select(r => r.Loss), moved[rank].Reports.Select(r => r.Loss));
            Assert.Equal([1L, 2], moved[rank].Moves.Select(m => m.Version));
            // Weights of every expert at every step: the bits of the run that never moved (moments moved with them).
            for (var step = 0; step < Steps; step++)
            {
                var before = still.SelectMany(r => r.Experts[step]).ToDictionary(p => p.Key, p => p.Value);
                foreach (var (key, values) in moved[rank].Experts[step]) Assert.Equal(before[key], values);
            }
        }
        // Every copy a rank received was sent by one rank.
        Assert.Equal(moved.Sum(r => r.Moves[0].CopiesSent), moved.Sum(r => r.Moves[0].CopiesReceived));
        Assert.True(moved.Sum(r => r.Moves[0].CopiesReceived) > 0);
    }

    [Fact]
    public void MovingMidRun_ToReplicas_KeepsTheLosses_AndTheCopiesIdentical()
    {
        var map = ExpertMapRanks.Replicated(1);
        var still = Train(new Dictionary<int, ExpertMap>());
        var moved = Train(new Dictionary<int, ExpertMap> { [3] = map });

        for (var rank = 0; rank < World; rank++)
            for (var step = 0; step < Steps; step++)
            {
                var tolerance = step < 3 ? 0 : still[rank].Reports[step].Loss * 1e-5; // after the move: see ExpertMapTrainingTests
                Assert.Equal(still[rank].Reports[step].Loss, moved[rank].Reports[step].Loss, tolerance);
            }

        for (var step = 3; step < Steps; step++)
            for (var layer = 0; layer < 2; layer++)
                foreach (var e in map.Layers[layer].Replicated)
                {
                    var hosts = map.Layers[layer].Hosts(e);
                    foreach (var other in hosts.Skip(1)) Assert.Equal(moved[hosts[0]].Experts[step][(layer, e)], moved[other].Experts[step][(layer, e)]);
                }

        // Bytes: weights and both moments, float32, of each copy (w1, w2, w3 of 16 × 32 each).
        var copyBytes = 3L * 3 * 16 * 32 * sizeof(float);
        for (var rank = 0; rank < World; rank++)
        {
            Assert.Equal(moved[rank].Moves[0].CopiesReceived * copyBytes, moved[rank].Moves[0].BytesReceived);
            // The model and the optimizer hold exactly the new map's experts (3 projections each; m and v each).
            var held = map.Layers.Sum(l => l.Held(rank).Count);
            Assert.Equal(3 * held, moved[rank].Held.Parameters.Length);
            Assert.Equal(3 * held, moved[rank].Held.Parameters.Distinct().Count());
            Assert.Equal(2 * 3 * held, moved[rank].Held.Moments);
        }
    }

    [Fact]
    public void RanksToldDifferentMaps_AllRefuseTheMove_NamingTheDisagreement()
    {
        var errors = ExpertMapRanks.Run(World, null, Steps, (trainer, rank) =>
        {
            trainer.TrainStep();
            var map = rank == 2 ? ExpertMapRanks.Replicated(1) : ExpertMapRanks.Permuted(1);
            return Record.Exception(() => trainer.MoveExperts(map));
        });

        Assert.All(errors, e => Assert.Contains("disagree on the expert map", Assert.IsType<InvalidOperationException>(e).Message, StringComparison.Ordinal));
    }

    [Fact]
    public void AMapWhoseVersionDoesNotFollow_IsRefused()
    {
        var errors = ExpertMapRanks.Run(World, ExpertMapRanks.Permuted(3), 1, (trainer, _) => Record.Exception(() => trainer.MoveExperts(ExpertMapRanks.Replicated(3))));

        Assert.All(errors, e => Assert.Contains("does not follow the version in use (3)", e!.Message, StringComparison.Ordinal));
    }
}
