using System.CommandLine;
using Orchestrator.Kernels.Tasks;
using Serilog;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator task arithmetic --out dir --train N --test M --seed S [--min-digits A --max-digits B]</c>: writes a verifiable task's files.</summary>
public static class TaskCommand
{
    /// <summary>The <c>task</c> command and its one task, <c>arithmetic</c>.</summary>
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder for the task's files", Required = true };
        var train = new Option<int>("--train") { Description = "Training problems", DefaultValueFactory = _ => 2000 };
        var test = new Option<int>("--test") { Description = "Held-out problems (none shares its arithmetic with a training one)", DefaultValueFactory = _ => 500 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the problems", DefaultValueFactory = _ => 1 };
        var minDigits = new Option<int>("--min-digits") { Description = "Fewest digits of an operand", DefaultValueFactory = _ => 2 };
        var maxDigits = new Option<int>("--max-digits") { Description = "Most digits of an operand", DefaultValueFactory = _ => 3 };
        var arithmetic = new Command("arithmetic", "Multi-digit arithmetic word problems in the R1 format: prompt/answer JSONL per split, SFT JSONL and a text corpus of the training split")
        {
            output, train, test, seed, minDigits, maxDigits,
        };
        arithmetic.SetAction(result => CommandErrors.Run(() =>
        {
            GlobalOptions.StartLogging(result);
            var (trainCount, testCount) = (result.GetValue(train), result.GetValue(test));
            if (trainCount < 1) throw new ArgumentException($"--train: must be at least 1 (got {trainCount})");
            if (testCount < 0) throw new ArgumentException($"--test: must not be negative (got {testCount})");
            var (min, max) = (result.GetValue(minDigits), result.GetValue(maxDigits));
            if (min < 1 || max < min || max > 9) throw new ArgumentException($"--min-digits/--max-digits: need 1 <= {min} <= {max} <= 9");
            var (trainSet, testSet) = new ArithmeticTask(min, max).Splits(result.GetValue(seed), trainCount, testCount);
            var folder = result.GetRequiredValue(output).FullName;
            foreach (var file in ArithmeticFiles.Write(folder, trainSet, testSet)) Log.Information("Wrote {File}", file);
            Log.Information("Arithmetic task: {Train} training and {Test} held-out problems in {Folder}", trainSet.Count, testSet.Count, folder);
            return Task.FromResult(0);
        }));
        return new Command("task", "Generate a verifiable task's files (offline)") { arithmetic };
    }
}
