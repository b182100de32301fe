using System.Text.Json;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>Trainers that re-place on their own at step boundaries (rank 0 decides, the others receive its decision).</summary>
public sealed class LiveReplacementTests
{
    public LiveReplacementTests() => Torch.Ready();

    private const int Steps = 6;
    private const int World = 4;

    [Fact]
    public void ReplacingEveryTwoSteps_KeepsTheLossesOfStayingPut_AndRecordsTheMapInTheCheckpointState()
    {
        var settings = new ReplacementSettings(Every: 2, Imbalance: 0, Window: 2, Redundant: 4, Groups: 4, Nodes: 2);
        var initial = ExpertReplacementSchedule.InitialMap(settings, 16, World, 2);
        var still = ExpertMapRanks.Run(World, initial, Steps, (trainer, _) => Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList());
        var live = ExpertMapRanks.Run(World, initial, Steps, (run, rank) =>
        {
            var reports = new List<StepReport>();
            var states = new List<TrainerState>();
            for (var step = 0; step < Steps; step++)
            {
                reports.Add(run.TrainStep());
                states.Add(TrainerShards.State(run));
            }
            return (reports, states, Experts: ExpertMapRanks.Experts(run, rank), Map: run.ExpertMap!);
        }, (rank, parallel) => new BroadcastPlacementAuthority(parallel.World,
            rank == 0 ? new LocalPlacementAuthority(new ExpertReplacementSchedule(settings)) : null));

        for (var rank = 0; rank < World; rank++)
        {
            var replacements = live[rank].reports.Select(r => r.Replacement).ToArray();
            Assert.NotNull(replacements[1]); // after step 2 (the skewed micro data always moves something)
            Assert.Equal(1, replacements[1]!.To.Version);
            for (var step = 0; step < Steps; step++)
            {
                var tolerance = step < 2 ? 0 : still[rank][step].Loss * 1e-5;
                Assert.Equal(still[rank][step].Loss, live[rank].reports[step].Loss, tolerance);
                // The checkpoint state of each step records the map the next step routes by.
                var recorded = JsonSerializer.Deserialize<TrainerState>(JsonSerializer.Serialize(live[rank].states[step]))!;
                var expected = live[rank].reports.Take(step + 1).LastOrDefault(r => r.Replacement is not null)?.Replacement!.To ?? initial;
                Assert.Equal(expected.Version, recorded.ExpertMap!.Version);
                Assert.True(recorded.ExpertMap.ToMap(16, World).SamePlacement(expected));
            }
        }
        // Every rank ended on the same map, and the copies of each replicated expert hold the same bits.
        var final = live[0].Map;
        Assert.All(live, r => Assert.True(r.Map.SamePlacement(final)));
        for (var layer = 0; layer < 2; layer++)
            foreach (var e in final.Layers[layer].Replicated)
            {
                var hosts = final.Layers[layer].Hosts(e);
                foreach (var other in hosts.Skip(1)) Assert.Equal(live[hosts[0]].Experts[(layer, e)], live[other].Experts[(layer, e)]);
            }
    }
}
