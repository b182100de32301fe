using System.CommandLine;
using Orchestrator.Kernels.Data;
using Serilog;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator prepare-data --input files… --tokenizer gpt2|bytes --out dir</c>.</summary>
public static class PrepareDataCommand
{
    public static Command Create()
    {
        var input = new Option<string[]>("--input", "-i") { Description = "UTF-8 text files (each one document)", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string>("--tokenizer", "-t") { Description = "Tokenizer", DefaultValueFactory = _ => "gpt2" };
        tokenizer.AcceptOnlyFromAmong([.. TokenizerCatalog.Names]);
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder for the token shards and index.json", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a dataset already in --out" };
        var command = new Command("prepare-data", "Tokenize text into binary token shards with an index") { input, tokenizer, output, overwrite };
        command.SetAction(result => CommandErrors.Run(() =>
        {
            GlobalOptions.StartLogging(result);
            var files = ExpandInputs(result.GetRequiredValue(input));
            var writer = new TokenShardWriter(TokenizerCatalog.Create(result.GetValue(tokenizer)!));
            var index = writer.Write(files, result.GetRequiredValue(output).FullName, result.GetValue(overwrite));
            Log.Information("Wrote {Tokens:N0} {Tokenizer} tokens in {Shards} shard(s) from {Files} file(s) to {Output}",
                index.TotalTokens, index.Tokenizer, index.Shards.Count, files.Count, result.GetRequiredValue(output).FullName);
            return Task.FromResult(0);
        }));
        return command;
    }

    /// <summary>A folder stands for every file in it (sorted, so the token order is deterministic).</summary>
    private static List<string> ExpandInputs(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        foreach (var path in inputs)
        {
            if (Directory.Exists(path)) files.AddRange(Directory.GetFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            else files.Add(path);
        }
        return files;
    }
}
