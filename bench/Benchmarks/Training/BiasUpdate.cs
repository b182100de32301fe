using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Training;

/// <summary>
/// The aux-loss-free bias update applied from outside the trainer, for γ schedules the trainer's
/// own (constant, then frozen) schedule cannot express. Same rule, same order: after the optimizer step.
/// </summary>
internal static class BiasUpdate
{
    public static void Apply(Trainer trainer, IReadOnlyList<long[]> loads, double gamma)
    {
        if (gamma == 0) return;
        using var noGrad = no_grad();
        var layers = trainer.Model.MoeLayers;
        for (var layer = 0; layer < layers.Count; layer++)
        {
            var bias = layers[layer].ExpertBias;
            var values = bias.data<float>().ToArray();
            ExpertBalance.UpdateBias(values, loads[layer], gamma);
            using var updated = tensor(values);
            bias.copy_(updated);
        }
    }
}
