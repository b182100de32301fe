using System.CommandLine;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Silo.Training;
using Serilog;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>orchestrator demo</c>: needs no file and no service. Generates the demo corpus, tokenizes
/// it, and trains the embedded tiny config for a minute with a live progress bar.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var workDir = new Option<DirectoryInfo>("--work-dir") { Description = "Folder for the demo corpus, dataset and checkpoints", DefaultValueFactory = _ => new DirectoryInfo(DefaultWorkDir) };
        var duration = new Option<int>("--seconds") { Description = "Training time", DefaultValueFactory = _ => 60 };
        var steps = new Option<long>("--steps") { Description = "Stop earlier at this step", DefaultValueFactory = _ => 100_000 };
        var summary = new Option<FileInfo?>("--summary-json") { Description = "Write a JSON summary of the run here" };
        var command = new Command("demo", "Train the tiny DeepSeek-V3-style model on a generated corpus, on this machine, for a minute") { workDir, duration, steps, summary };
        command.SetAction((result, cancellation) => CommandErrors.Run(() =>
        {
            GlobalOptions.StartLogging(result);
            var root = result.GetValue(workDir)!.FullName;
            var seconds = result.GetValue(duration);
            if (seconds <= 0) throw new ArgumentException($"--seconds must be greater than 0 (got {seconds})");
            var data = PrepareDemoData(root);
            GlobalOptions.StartTorch(result);
            var config = EmbeddedConfigs.Tiny();
            var options = new TrainingRunOptions(config, data, result.GetValue(steps), Path.Combine(root, "checkpoints"), 100,
                Resume: false, result.GetValue(summary)?.FullName, TimeSpan.FromSeconds(seconds));
            TrainingRun.Execute(options, cancellation);
            return Task.FromResult(0);
        }));
        return command;
    }

    private static string DefaultWorkDir => Path.Combine(Path.GetTempPath(), "orchestrator-demo");

    private static string PrepareDemoData(string root)
    {
        var data = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(data, DatasetIndex.FileName)))
        {
            Log.Information("Using the demo dataset in {Folder}", data);
            return data;
        }
        var corpus = Path.Combine(root, "corpus");
        if (Directory.Exists(corpus)) Directory.Delete(corpus, recursive: true);
        var files = DemoCorpus.Write(corpus);
        var index = new TokenShardWriter(TokenizerCatalog.Create(ByteTokenizer.CatalogName)).Write(files, data, overwrite: true);
        Log.Information("Generated the demo corpus ({Files} files) and tokenized it: {Tokens:N0} byte tokens in {Folder}", files.Count, index.TotalTokens, data);
        return data;
    }
}
