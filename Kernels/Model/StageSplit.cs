namespace Orchestrator.Kernels.Model;

/// <summary>
/// The model cut into pipeline virtual stages by layer, as DeepSeek-V3 places them: the embedding with
/// the first stage, the output head and the MTP modules with the last, the transformer layers in order
/// between them. Which rank runs which virtual stage is the schedule's placement, not the split's.
/// </summary>
public sealed class StageSplit
{
    private StageSplit(IReadOnlyList<StageLayers> stages) => Stages = stages;

    /// <summary>The virtual stages in model order.</summary>
    public IReadOnlyList<StageLayers> Stages { get; }

    /// <summary>
    /// Splits <paramref name="layers"/> layers over <paramref name="virtualStages"/> stages: evenly (the
    /// first <c>layers % stages</c> stages one layer longer) or as <paramref name="stageLayers"/> lists.
    /// </summary>
    /// <param name="layers">The model's transformer layers (model.n_layers).</param>
    /// <param name="virtualStages">pp × chunks per rank.</param>
    /// <param name="stageLayers">Layers per virtual stage, in order; null for the even split.</param>
    /// <exception cref="StageSplitException">The split leaves a stage without layers or does not cover the model.</exception>
    public static StageSplit Of(int layers, int virtualStages, IReadOnlyList<int>? stageLayers = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualStages, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(layers);
        var counts = stageLayers ?? Even(layers, virtualStages);
        if (stageLayers is not null)
        {
            if (stageLayers.Count != virtualStages)
                throw new StageSplitException($"lists {stageLayers.Count} stages but the pipeline has {virtualStages} virtual stages (pp × chunks per rank)");
            if (stageLayers.Sum(c => (long)c) != layers || stageLayers.Any(c => c < 0))
                throw new StageSplitException($"[{string.Join(", ", stageLayers)}] does not add up to the model's {layers} layers (model.n_layers)");
        }

        var empty = counts.ToList().IndexOf(0);
        if (empty >= 0)
            throw new StageSplitException(stageLayers is null
                ? $"{layers} layers cannot fill {virtualStages} virtual stages: stage {empty} would hold no layer"
                : $"stage {empty} holds no layer");

        var stages = new List<StageLayers>(virtualStages);
        var first = 0;
        for (var s = 0; s < virtualStages; s++)
        {
            stages.Add(new StageLayers(s, first, counts[s], HoldsEmbedding: s == 0, HoldsHead: s == virtualStages - 1));
            first += counts[s];
        }

        return new StageSplit(stages);
    }

    /// <summary>The virtual stage that holds layer <paramref name="layer"/>.</summary>
    public StageLayers StageOfLayer(int layer) =>
        Stages.FirstOrDefault(s => layer >= s.FirstLayer && layer < s.FirstLayer + s.LayerCount)
        ?? throw new ArgumentOutOfRangeException(nameof(layer), layer, $"the split covers layers 0 to {Stages[^1].FirstLayer + Stages[^1].LayerCount - 1}");

    private static int[] Even(int layers, int stages) =>
        Enumerable.Range(0, stages).Select(s => layers / stages + (s < layers % stages ? 1 : 0)).ToArray();
}
