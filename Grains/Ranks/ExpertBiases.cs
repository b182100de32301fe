using System.Globalization;
using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Grains.Ranks;

/// <summary>Reads the routing biases of a model's MoE layers (host copies, for the step report).</summary>
internal static class ExpertBiases
{
    /// <summary>One array per MoE layer: each routed expert's bias.</summary>
    public static IReadOnlyList<double[]> Read(DeepSeekModel model)
    {
        using var noGrad = no_grad();
        var biases = new float[model.MoeLayers.Count][];
        for (var layer = 0; layer < biases.Length; layer++)
        {
            using var host = model.MoeLayers[layer].ExpertBias.cpu();
            biases[layer] = host.data<float>().ToArray();
        }

        return Of(biases);
    }

    /// <summary>The same from host biases (a simulated rank's, or the model's copied to the host).</summary>
    public static IReadOnlyList<double[]> Of(IReadOnlyList<float[]> biases) =>
        // The float's shortest text, so that 0.02f reads 0.02 rather than 0.019999999552965164.
        [.. biases.Select(layer => layer.Select(b => double.Parse(b.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)).ToArray())];
}
