using Orchestrator.Kernels.Training;
using Serilog;
using Spectre.Console;

namespace Orchestrator.Silo.Training;

/// <summary>
/// Shows training as it goes: a live Spectre.Console progress bar on an interactive terminal,
/// a log line every few steps otherwise (CI, pipes), so redirected output stays readable.
/// </summary>
public static class StepProgress
{
    /// <summary>Runs <paramref name="work"/>, handing it a callback to report each step; <paramref name="goal"/> labels the bar.</summary>
    public static T Run<T>(string goal, Func<Action<StepReport, double>, T> work)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
            return work(LogLine);

        var result = default(T)!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(goal, maxValue: 1.0);
                result = work((report, fraction) =>
                {
                    task.Description = Describe(report);
                    task.Value = Math.Clamp(fraction, 0, 1);
                });
                task.Value = 1.0;
            });
        return result;
    }

    private static void LogLine(StepReport report, double fraction)
    {
        if (report.Step % 10 != 0 && report.Step > 3 && fraction < 1.0) return;
        Log.Information("step {Step} loss {Loss:F4} main {Main:F4} tokens/s {TokensPerSecond:F0} MaxVio {MaxVio:F3} lr {Lr:G3}",
            report.Step, report.Loss, report.MainLoss, report.TokensPerSecond, report.MaxViolationOverLayers, report.LearningRate);
    }

    private static string Describe(StepReport r) =>
        $"step [bold]{r.Step}[/]  loss [green]{r.Loss:F4}[/]  tokens/s [blue]{r.TokensPerSecond:F0}[/]  MaxVio [yellow]{r.MaxViolationOverLayers:F3}[/]";
}
