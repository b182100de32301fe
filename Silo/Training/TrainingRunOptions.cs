using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Silo.Training;

/// <summary>What a single-process training run is asked to do.</summary>
/// <param name="Config">Model and training config.</param>
/// <param name="DataDirectory">Folder with index.json and token shards.</param>
/// <param name="Steps">Step count to reach (a resumed run continues up to it).</param>
/// <param name="CheckpointDirectory">Where checkpoints go; null for none.</param>
/// <param name="CheckpointEvery">Steps between checkpoints (a final one is always written when a folder is given).</param>
/// <param name="Resume">Continue from the latest checkpoint in <paramref name="CheckpointDirectory"/>.</param>
/// <param name="SummaryJson">Where to write the run summary; null for none.</param>
/// <param name="MaxDuration">Stop at the first step boundary after this long; null for no limit.</param>
/// <param name="Device">Where tensors live: "cpu" or "cuda[:N]".</param>
public sealed record TrainingRunOptions(
    RunConfig Config, string DataDirectory, long Steps, string? CheckpointDirectory, int CheckpointEvery,
    bool Resume, string? SummaryJson, TimeSpan? MaxDuration, string Device = "cpu");
