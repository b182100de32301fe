using System.CommandLine;
using System.Globalization;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Silo.Generation;
using Orchestrator.Silo.Training;
using Serilog;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>orchestrator generate --checkpoint C (--prompt T | --prompts F) [--max-tokens N] [--temperature X] [--top-p P]
/// [--seed S] [--stop S]… [--speculative] [--no-cache] [--tokenizer K] [--device D] [--json]</c>: completes prompts
/// with a checkpoint written by <c>train</c>.
/// </summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint folder (step-NNNNNNNN) or the --checkpoint-dir of a train run (its latest)", Required = true };
        var prompt = new Option<string[]>("--prompt", "-p") { Description = "A prompt (repeat for a batch)", AllowMultipleArgumentsPerToken = false };
        var prompts = new Option<string?>("--prompts") { Description = "A file of prompts: one a line, or .jsonl with a string or {\"prompt\": …} a line" };
        var maxTokens = new Option<string>("--max-tokens", "-n") { Description = "New tokens per prompt at most", DefaultValueFactory = _ => "64" };
        var temperature = new Option<string>("--temperature", "-t") { Description = "Sampling temperature; 0 is greedy", DefaultValueFactory = _ => "0" };
        var topP = new Option<string>("--top-p") { Description = "Nucleus sampling mass in (0, 1]", DefaultValueFactory = _ => "1" };
        var seed = new Option<string>("--seed") { Description = "Seed of the sampling streams (same seed, same tokens)", DefaultValueFactory = _ => "0" };
        var stop = new Option<string[]>("--stop") { Description = "A text that ends a completion (repeatable)" };
        var speculative = new Option<bool>("--speculative") { Description = "Draft with the model's MTP module, verify with the main model (greedy)" };
        var noCache = new Option<bool>("--no-cache") { Description = "Recompute the whole sequence for every token (the reference path)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = $"Tokenizer ({string.Join(", ", TokenizerCatalog.Names)}); default: the one whose vocabulary is the model's vocab_size" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text" };
        var command = new Command("generate", "Complete prompts with a trained checkpoint (MLA latent KV cache; optional MTP speculative decoding)")
        {
            checkpoint, prompt, prompts, maxTokens, temperature, topP, seed, stop, speculative, noCache, tokenizer, device, json,
        };
        command.SetAction(result => CommandErrors.Run(() =>
        {
            GlobalOptions.StartLogging(result);
            var options = new GenerationOptions
            {
                MaxNewTokens = Number<int>(result.GetValue(maxTokens)!, "--max-tokens"),
                Temperature = Number<double>(result.GetValue(temperature)!, "--temperature"),
                TopP = Number<double>(result.GetValue(topP)!, "--top-p"),
                Seed = Number<ulong>(result.GetValue(seed)!, "--seed"),
                Stop = result.GetValue(stop) ?? [],
                Speculative = result.GetValue(speculative),
                UseCache = !result.GetValue(noCache),
            };
            if (options.Problems() is { Count: > 0 } problems) throw new ArgumentException(string.Join("; ", problems.Select(OptionName)));
            var texts = Prompts(result.GetValue(prompt) ?? [], result.GetValue(prompts));
            var folder = CheckpointModel.Resolve(result.GetRequiredValue(checkpoint));
            var run = CheckpointModel.Config(folder);
            var textTokenizer = Tokenizer(result.GetValue(tokenizer), run.Model!.VocabSize);

            GlobalOptions.StartTorch(result);
            TorchSharp.torch.set_num_threads(run.Training?.Threads ?? 1);
            using var model = CheckpointModel.Load(folder, TrainingDevice.Resolve(result.GetValue(device)!));
            Log.Information("Generating with {Folder} ({Tokenizer} tokenizer, {Mode})", folder, textTokenizer.Name, GenerationReport.Mode(options));
            using var generator = new TextGenerator(model, textTokenizer);
            GenerationResult generated;
            try { generated = generator.Generate(texts, options); }
            catch (ArgumentException e) { throw new ArgumentException(OptionName(e.Message)); }
            Console.Write(result.GetValue(json) ? GenerationReport.Json(texts, generated, options) + Environment.NewLine : GenerationReport.Text(texts, generated, options));
            return Task.FromResult(0);
        }));
        return command;
    }

    private static IReadOnlyList<string> Prompts(string[] given, string? file)
    {
        if (given.Length > 0 && file is not null) throw new ArgumentException("--prompt and --prompts: give one or the other");
        if (file is not null) return PromptFile.Read(file);
        if (given.Length == 0) throw new ArgumentException("--prompt: give a prompt (or --prompts with a file of them)");
        if (given.Any(p => p.Length == 0)) throw new ArgumentException("--prompt: a prompt is empty");
        return given;
    }

    private static ITextTokenizer Tokenizer(string? name, int vocabSize)
    {
        if (name is not null)
        {
            try { return TokenizerCatalog.Create(name); }
            catch (ArgumentException e) { throw new ArgumentException($"--tokenizer: {e.Message.Split(" (Parameter")[0]}"); }
        }
        foreach (var candidate in TokenizerCatalog.Names)
        {
            var tokenizer = TokenizerCatalog.Create(candidate);
            if (tokenizer.VocabSize == vocabSize) return tokenizer;
        }
        throw new ArgumentException($"--tokenizer: the checkpoint's model.vocab_size ({vocabSize}) is no tokenizer's vocabulary; name one of {string.Join(", ", TokenizerCatalog.Names)}");
    }

    private static T Number<T>(string text, string option) where T : struct, System.Numerics.INumber<T>
    {
        var whole = typeof(T) != typeof(double);
        if (T.TryParse(text, whole ? NumberStyles.Integer : NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            return value;
        throw new ArgumentException($"{option}: \"{text}\" is not {(whole ? "a whole number in range" : "a number")}");
    }

    /// <summary>The generator's field names (max_tokens, top_p, …) as this command's options.</summary>
    private static string OptionName(string message) => message
        .Replace("max_tokens:", "--max-tokens:", StringComparison.Ordinal)
        .Replace("top_p:", "--top-p:", StringComparison.Ordinal)
        .Replace("temperature:", "--temperature:", StringComparison.Ordinal)
        .Replace("speculative:", "--speculative:", StringComparison.Ordinal)
        .Replace("stop:", "--stop:", StringComparison.Ordinal);
}
