using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>The pipeline's expert biases: every stage's layers gathered once, then the bias authority's answer each step, each rank installing its own layers'.</summary>
public sealed partial class PipelineTrainer
{
    /// <summary>
    /// Every MoE layer's expert biases as the pipeline holds them (one array per layer, in model order): gathered from
    /// the stages at <see cref="GatherBiases"/>, then the bias authority's answer of each step.
    /// </summary>
    public IReadOnlyList<float[]> Biases { get; private set; } = [];

    /// <summary>Gathers every stage's expert biases into <see cref="Biases"/> (a collective: every rank calls it together).</summary>
    public IReadOnlyList<float[]> GatherBiases()
    {
        var layers = _model.MoeLayers + _model.MtpDepth;
        var experts = Math.Max(_model.RoutedExperts, 1);
        using var noGrad = no_grad();
        using var all = zeros([layers, experts], ScalarType.Float32, device: CPU);
        foreach (var (layer, index) in _chunks.SelectMany(c => c.MoeLayers.Zip(c.MoeIndices)))
        {
            using var host = layer.ExpertBias.cpu();
            all[index].copy_(host);
        }

        _pipeline.AllReduceSum(all); // one writer per layer: exact
        var values = all.data<float>().ToArray();
        Biases = Enumerable.Range(0, layers).Select(l => values.AsSpan(l * experts, experts).ToArray()).ToArray();
        return Biases;
    }

    /// <summary>The bias authority decides every layer from the pipeline's loads; this rank installs its own layers'.</summary>
    private void UpdateBiases(long[][] loads, double gamma, bool always = false)
    {
        if ((gamma == 0 && !always) || loads.Length == 0) return;
        using var noGrad = no_grad();
        var current = loads.Select(l => new float[l.Length]).ToArray();
        var own = _chunks.SelectMany(c => c.MoeLayers.Zip(c.MoeIndices)).ToArray();
        foreach (var (layer, index) in own) current[index] = layer.ExpertBias.cpu().data<float>().ToArray();
        for (var l = 0; l < current.Length && l < Biases.Count; l++)
            if (!own.Any(o => o.Item2 == l)) current[l] = (float[])Biases[l].Clone(); // the other stages' layers as last decided
        var decided = _biases.Update(Step, loads, gamma, current);
        Biases = decided;
        foreach (var (layer, index) in own)
        {
            using var updated = tensor(decided[index], device: CPU);
            layer.ExpertBias.copy_(updated);
        }
    }
}
