using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Kernels.Tests.Support;

/// <summary>Small configs that run in milliseconds.</summary>
public static class TinyModels
{
    public static RunConfig Shipped { get; } = ConfigLoader.LoadFile(RepositoryFiles.Config("tiny.json"));

    /// <summary>A smaller variant of the shipped tiny config for fast unit tests.</summary>
    public static ModelConfig Micro(int mtpDepth = 1) => Shipped.Model! with
    {
        Dim = 32, InterDim = 64, MoeInterDim = 16, Layers = 2, DenseLayers = 1, Heads = 2,
        RoutedExperts = 16, ActivatedExperts = 4, ExpertGroups = 4, LimitedGroups = 2,
        QueryLoraRank = 16, KvLoraRank = 16, QkNopeHeadDim = 8, QkRopeHeadDim = 8, VHeadDim = 8,
        MaxSequenceLength = 64, MtpDepth = mtpDepth,
    };

    public static TrainingConfig MicroTraining { get; } = Shipped.Training! with
    {
        SequenceLength = 16, MicroBatchSize = 4, WarmupSteps = 2, Threads = 1,
    };
}
