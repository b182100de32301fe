using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Configuration;

/// <summary>Reads config JSON strictly: unknown fields, wrong types and inconsistent values are errors.</summary>
public static class ConfigLoader
{
    private static readonly JsonSerializerOptions Options = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        NumberHandling = JsonNumberHandling.Strict,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new WholeNumberConverter<int>(), new WholeNumberConverter<long>(), new WholeNumberConverter<ulong>() },
    };

    /// <summary>Reads a config file: either <c>{"model": …, "training": …}</c> or a bare model object.</summary>
    public static RunConfig LoadFile(string path)
    {
        if (!File.Exists(path)) throw new ConfigException(path, [$"file not found: {Path.GetFullPath(path)}"]);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses config JSON; <paramref name="source"/> names it in errors.</summary>
    public static RunConfig Parse(string json, string source = "config")
    {
        if (DuplicateKeys.Find(json) is { } duplicate)
            throw new ConfigException(source, [$"{duplicate}: {DuplicateKeys.Reason}"]);
        RunConfig config;
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ConfigException(source, ["the config must be a JSON object"]);
            var wrapped = document.RootElement.TryGetProperty("model", out _) || document.RootElement.TryGetProperty("training", out _);
            config = wrapped
                ? document.RootElement.Deserialize<RunConfig>(Options)!
                : new RunConfig { Model = document.RootElement.Deserialize<ModelConfig>(Options) };
        }
        catch (JsonException e)
        {
            throw new ConfigException(source, [Describe(e)]);
        }

        if (config.Model is null) throw new ConfigException(source, ["model: section is missing"]);
        var problems = ConfigValidator.Validate(config.Model, config.Training);
        if (problems.Count > 0) throw new ConfigException(source, problems);
        return config;
    }

    /// <summary>Serialises a config with the same field names it is read with.</summary>
    public static string ToJson(RunConfig config) => JsonSerializer.Serialize(config, Options);

    /// <summary>Serialises a model config alone.</summary>
    public static string ToJson(ModelConfig config) => JsonSerializer.Serialize(config, Options);

    private static string Describe(JsonException e)
    {
        // System.Text.Json reports "$.model.n_headz"; users think in "model.n_headz".
        var path = e.Path is { Length: > 0 } p ? p.TrimStart('$', '.') : "(root)";
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
            return $"{path}: unknown field ({message})";
        return $"{path}: {message}";
    }
}
