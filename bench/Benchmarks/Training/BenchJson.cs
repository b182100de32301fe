using System.Text.Json;

namespace Orchestrator.Benchmarks.Training;

/// <summary>One JSON style for every result file: indented, snake_case like the configs.</summary>
internal static class BenchJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
