using System.Globalization;
using System.Text.Json;
using Orchestrator.Kernels.Generation;

namespace Orchestrator.Silo.Generation;

/// <summary>What <c>generate</c> prints: each prompt with its completion, then the speed (and MTP acceptance); or one JSON object.</summary>
public static class GenerationReport
{
    /// <summary>The decoding path, as the report names it.</summary>
    public static string Mode(GenerationOptions options) =>
        options.Speculative ? "speculative (MTP)" : options.UseCache ? "latent cache" : "no cache";

    /// <summary>The tokens/s line (and the acceptance when speculative).</summary>
    public static string Speed(GenerationResult result, GenerationOptions options)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{result.NewTokens} tokens in {result.Elapsed.TotalSeconds:F2} s: {result.TokensPerSecond:F1} tokens/s ({Mode(options)}, {result.Completions.Count} prompts, {result.MainPasses} main-model passes)");
        if (result.AcceptanceRate is { } rate)
            line += string.Create(CultureInfo.InvariantCulture, $"; MTP acceptance {result.Accepted}/{result.Drafted} = {rate:P1}");
        return line;
    }

    /// <summary>Plain text: "prompt ⟶ completion" blocks, then the speed line.</summary>
    public static string Text(IReadOnlyList<string> prompts, GenerationResult result, GenerationOptions options)
    {
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < prompts.Count; i++)
        {
            var completion = result.Completions[i];
            text.Append(CultureInfo.InvariantCulture, $"[{i + 1}] {prompts[i]}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"  → {completion.Text}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"  ({completion.Tokens.Count} tokens, {Finish(completion.Finish)})").AppendLine();
        }
        return text.AppendLine(Speed(result, options)).ToString();
    }

    /// <summary>One JSON object: the completions, the counts and the speed.</summary>
    public static string Json(IReadOnlyList<string> prompts, GenerationResult result, GenerationOptions options) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["completions"] = prompts.Select((p, i) => new Dictionary<string, object?>
        {
            ["prompt"] = p,
            ["text"] = result.Completions[i].Text,
            ["tokens"] = result.Completions[i].Tokens,
            ["finish"] = Finish(result.Completions[i].Finish),
        }).ToArray(),
        ["mode"] = Mode(options),
        ["new_tokens"] = result.NewTokens,
        ["seconds"] = result.Elapsed.TotalSeconds,
        ["tokens_per_s"] = result.TokensPerSecond,
        ["main_passes"] = result.MainPasses,
        ["drafted"] = result.Drafted,
        ["accepted"] = result.Accepted,
        ["acceptance"] = result.AcceptanceRate,
    });

    private static string Finish(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.Stop => "stop",
        FinishReason.EndOfText => "end-of-text",
        _ => reason.ToString(),
    };
}
