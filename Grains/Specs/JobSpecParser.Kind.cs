using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>The spec's <c>kind</c>: "pretrain" (the default, also when absent), "sft", "grpo" or "distill".</summary>
public static partial class JobSpecParser
{
    private static JobKind Kind(JsonNode? node) =>
        NameIn(node, "kind", "must be a job kind: \"pretrain\", \"sft\", \"grpo\" or \"distill\"") switch
        {
            null or "pretrain" => JobKind.Pretrain,
            "sft" => JobKind.Sft,
            "grpo" => JobKind.Grpo,
            "distill" => JobKind.Distill,
            var other => throw new JobSpecException("kind", $"'{other}' is not a job kind: \"pretrain\", \"sft\", \"grpo\" or \"distill\""),
        };

    /// <summary>The spec's name of <paramref name="kind"/> (<c>pretrain</c>, <c>sft</c>, <c>grpo</c>, <c>distill</c>), as the index records it.</summary>
    // A new kind adds its name here and in Kind, so that ToJson and Parse stay each other's inverse.
    public static string KindName(JobKind kind) => kind switch
    {
        JobKind.Pretrain => "pretrain",
        JobKind.Sft => "sft",
        JobKind.Grpo => "grpo",
        JobKind.Distill => "distill",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "a job kind without a spec name"),
    };
}
