using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>The spec's <c>kind</c>: "pretrain" (the default, also when absent); the R1 kinds are refused until built.</summary>
public static partial class JobSpecParser
{
    private static JobKind Kind(JsonNode? node) =>
        NameIn(node, "kind", "must be a job kind: \"pretrain\"") switch
        {
            null or "pretrain" => JobKind.Pretrain,
            var later when later is "sft" or "grpo" or "distill" => throw new JobSpecException("kind", $"'{later}' jobs are not supported yet: only \"pretrain\""),
            var other => throw new JobSpecException("kind", $"'{other}' is not a job kind: only \"pretrain\""),
        };

    // A new kind adds its name here and in Kind, so that ToJson and Parse stay each other's inverse.
    private static string KindName(JobKind kind) => kind switch
    {
        JobKind.Pretrain => "pretrain",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "a job kind without a spec name"),
    };
}
