namespace Orchestrator.Kernels.Model;

/// <summary>One virtual stage: layers [FirstLayer, FirstLayer + LayerCount), plus the embedding and/or the head and MTP.</summary>
public sealed record StageLayers(int Stage, int FirstLayer, int LayerCount, bool HoldsEmbedding, bool HoldsHead);
