using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Configuration;

/// <summary>A config file: the model, and optionally how to train it.</summary>
public sealed record RunConfig
{
    [JsonPropertyName("model")] public ModelConfig? Model { get; init; }
    [JsonPropertyName("training")] public TrainingConfig? Training { get; init; }
}
