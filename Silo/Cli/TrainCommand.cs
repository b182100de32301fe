using System.CommandLine;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Silo.Training;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator train --config F --data D --steps N [--checkpoint-dir C] [--resume] [--summary-json P]</c>.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "Run config: {\"model\": …, \"training\": …}", Required = true };
        var data = new Option<DirectoryInfo>("--data", "-d") { Description = "Dataset folder made by prepare-data", Required = true };
        var steps = new Option<long>("--steps", "-n") { Description = "Train until this many steps are done", Required = true };
        var checkpoints = new Option<DirectoryInfo?>("--checkpoint-dir") { Description = "Write checkpoints here" };
        var every = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints", DefaultValueFactory = _ => 50 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the latest checkpoint in --checkpoint-dir" };
        var summary = new Option<FileInfo?>("--summary-json") { Description = "Write a JSON summary of the run here" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var command = new Command("train", "Train a model in this process") { config, data, steps, checkpoints, every, resume, summary, device };
        command.SetAction((result, cancellation) => CommandErrors.Run(() =>
        {
            GlobalOptions.StartLogging(result);
            var run = ConfigLoader.LoadFile(result.GetRequiredValue(config).FullName);
            GlobalOptions.StartTorch(result);
            var options = new TrainingRunOptions(run, result.GetRequiredValue(data).FullName, result.GetValue(steps),
                result.GetValue(checkpoints)?.FullName, result.GetValue(every), result.GetValue(resume),
                result.GetValue(summary)?.FullName, MaxDuration: null, result.GetValue(device)!);
            TrainingRun.Execute(options, cancellation);
            return Task.FromResult(0);
        }));
        return command;
    }
}
