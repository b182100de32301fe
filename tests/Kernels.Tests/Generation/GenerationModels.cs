using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Generation;

/// <summary>Models for the generation tests: MLA + MoE layers + one MTP module, fresh or briefly trained on arithmetic progressions.</summary>
public static class GenerationModels
{
    private static readonly Lazy<DeepSeekModel> TrainedModel = new(Train);

    /// <summary>Three layers (one dense, two MoE), query compression, MTP depth 1; wider init than training so untrained logits are not flat.</summary>
    public static ModelConfig Config(int queryLora = 16, int mtpDepth = 1) => TinyModels.Micro(mtpDepth) with
    {
        Layers = 3, DenseLayers = 1, QueryLoraRank = queryLora, MaxSequenceLength = 96, InitStd = 0.1,
    };

    /// <summary>A fresh model of <see cref="Config"/>.</summary>
    public static DeepSeekModel Fresh(ulong seed = 11, int queryLora = 16, int mtpDepth = 1)
    {
        Torch.Ready();
        return new DeepSeekModel(Config(queryLora, mtpDepth), seed);
    }

    /// <summary>The model with two MTP modules, trained 80 steps on progressions mod 257 (shared; read only, never trained further).</summary>
    public static DeepSeekModel Trained => TrainedModel.Value;

    /// <summary>Prompts of the training pattern, of different lengths.</summary>
    public static int[][] ProgressionPrompts { get; } =
    [
        [10, 11, 12],
        [40, 42, 44, 46, 48, 50, 52],
        [100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 130, 133],
    ];

    private static DeepSeekModel Train()
    {
        Torch.Ready();
        var config = Config(mtpDepth: 2) with { InitStd = 0.02 };
        var training = TinyModels.MicroTraining with { SequenceLength = 24, LearningRate = 0.01, WarmupSteps = 5 };
        var trainer = new Trainer(config, training, new PatternBatchSource(config.VocabSize, training.MicroBatchSize, training.SequenceLength + 1 + config.MtpDepth), 80);
        for (var i = 0; i < 80; i++) trainer.TrainStep();
        return trainer.Model;
    }
}
