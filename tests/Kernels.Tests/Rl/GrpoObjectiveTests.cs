using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Generation;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Rl;

namespace Orchestrator.Kernels.Tests.Rl;

/// <summary>
/// GRPO as the <see cref="Trainer"/>'s objective (what a job's ranks run) against the single-process
/// <see cref="GrpoTrainer"/> on the same prompts, seed and weights: in one process the same bits (same rollouts,
/// losses and weights); over two expert-parallel ranks in lockstep the same rollouts and rewards, losses and weights
/// within float noise (a rank's GEMMs and attention run over its own rows, and gradients are summed in rank order).
/// </summary>
public sealed class GrpoObjectiveTests
{
    private const int Steps = 3;
    private static readonly ITextTokenizer Bytes = TokenizerCatalog.Create(ByteTokenizer.CatalogName);
    private static readonly string[] Prompts = ["12+7=", "3*4=", "hello ", "The sum of 5 and 9 is ", "x", "ab"];
    private static readonly GrpoOptions Options = new() { GroupSize = 4, PromptsPerStep = 4, Passes = 2, MaxNewTokens = 8, LearningRate = 3e-3, Seed = 21 };

    /// <summary>A constant rate (no warm-up, no decay), as <see cref="GrpoTrainer"/> takes it.</summary>
    private static readonly TrainingConfig Training = TinyModels.MicroTraining with { WarmupSteps = 0, LearningRate = 3e-3, MinLearningRate = 3e-3, Seed = 9 };

    private static RolloutReward Letters(int prompt, string completion) =>
        new(completion.Length == 0 ? 0 : completion.Count(c => c is >= 'a' and <= 'z') / (double)completion.Length, completion.Contains(' ') ? 1 : 0);

    private static (double[] Losses, string[][] Samples, Dictionary<string, float[]> Weights) Single()
    {
        Torch.Ready();
        using var policy = new DeepSeekModel(GenerationModels.Config(), Training.Seed);
        using var reference = new DeepSeekModel(GenerationModels.Config(), Training.Seed);
        using var trainer = new GrpoTrainer(policy, reference, Bytes, Prompts, Letters, Training, Options);
        var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToArray();
        return (reports.Select(r => r.Loss).ToArray(), reports.Select(r => r.Samples.Select(s => s.Completion).ToArray()).ToArray(), Weights(policy));
    }

    private static (double[] Losses, string[][] Samples, Dictionary<string, float[]> Weights, GrpoStepStats Last) Rank(int shard, int shards, ExpertParallelism? parallel)
    {
        Torch.Ready();
        using var objective = new GrpoObjective(Bytes, Prompts, Letters, Options, shard, shards, 1,
            policy => new DeepSeekModel(policy.Config, Training.Seed, policy.Parallel, policy.Device));
        using var trainer = new Trainer(GenerationModels.Config(), Training, objective, Steps, parallel);
        var losses = new double[Steps];
        var samples = new string[Steps][];
        for (var step = 0; step < Steps; step++)
        {
            losses[step] = trainer.TrainStep().Loss;
            samples[step] = objective.LastStep!.Samples.Select(s => s.Completion).ToArray();
        }
        return (losses, samples, Weights(trainer.Model), objective.LastStep!);
    }

    private static Dictionary<string, float[]> Weights(DeepSeekModel model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());

    [Fact]
    public void InOneProcess_TheTrainersObjective_IsTheSingleProcessTrainerBitForBit()
    {
        var single = Single();
        var rank = Rank(0, 1, null);

        Assert.Equal(single.Samples, rank.Samples);
        Assert.Equal(single.Losses, rank.Losses);
        foreach (var (name, weights) in single.Weights) Assert.True(weights.SequenceEqual(rank.Weights[name]), name);
        Assert.Equal(Steps, rank.Last.Step);
        Assert.InRange(rank.Last.CompletionTokens, 1, Options.MaxNewTokens);
        Assert.True(rank.Last.Kl > 0, "after two passes a step the policy has left the reference");
        Assert.True(rank.Last.GenerationTokensPerSecond > 0);
        Assert.Null(rank.Last.MtpAcceptance);
    }

    [Fact]
    public async Task OverTwoExpertParallelRanks_RolloutsAndRewardsAreTheSingleProcesses_LossesAndWeightsWithinFloatNoise()
    {
        var single = Single();
        var group = new InProcessGroup(2);
        var placement = ExpertPlacement.Create(GenerationModels.Config().RoutedExperts, 2);
        var ranks = Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(() => Rank(r, 2, new ExpertParallelism(group.Collective(r), placement)),
            TaskCreationOptions.LongRunning)).ToArray();
        var done = await Task.WhenAll(ranks).WaitAsync(TimeSpan.FromMinutes(3));
        var (first, second) = (done[0], done[1]);

        for (var step = 0; step < Steps; step++)
        {
            // Rank r takes groups [2r, 2r + 2) of the step, drawing from the streams those rows have in the whole batch.
            Assert.Equal(single.Samples[step], first.Samples[step].Concat(second.Samples[step]));
            Assert.Equal(first.Losses[step], second.Losses[step]); // the all-reduced loss
            Assert.Equal(single.Losses[step], first.Losses[step], 1e-5);
        }
        foreach (var (name, weights) in first.Weights.Where(w => !w.Key.Contains(".moe.experts.", StringComparison.Ordinal)))
        {
            var expected = single.Weights[name];
            Assert.True(expected.Zip(weights).All(p => Math.Abs(p.First - p.Second) <= 1e-5), $"{name} differs by more than 1e-5");
        }
        Assert.Equal(first.Last with { Samples = [] }, second.Last with { Samples = [] }); // the job-wide statistics, the same on both
    }
}
