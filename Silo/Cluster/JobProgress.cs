using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Serilog;
using Spectre.Console;

namespace Orchestrator.Silo.Cluster;

/// <summary>
/// Follows a job by polling its grain until it is final: a live progress bar on a terminal, a log line
/// every few steps otherwise (CI, pipes).
/// </summary>
public static class JobProgress
{
    /// <summary>Polls every <paramref name="poll"/> (<see cref="ClientOptions.ProgressPoll"/>) until the job is completed, failed or cancelled; returns its last status.</summary>
    public static async Task<JobStatus> FollowAsync(IJobGrain job, double? maxSeconds, TimeSpan poll, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double Fraction(JobStatus s) => Math.Max(s.Steps > 0 ? (double)s.Step / s.Steps : 0,
            maxSeconds is { } limit ? clock.Elapsed.TotalSeconds / limit : 0);

        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            long logged = -1;
            while (true)
            {
                var status = await job.GetStatus();
                // Nothing to report before the first step (its loss would read NaN, its throughput 0).
                if (status.Step != logged && (status.Step > 0 || status.IsFinal) && (status.Step % 10 == 0 || status.Step <= 3 || status.IsFinal))
                {
                    logged = status.Step;
                    Log.Information("job {Job} {Phase} step {Step} loss {Loss:F4} tokens/s {TokensPerSecond:F0} MaxVio {MaxVio:F3} (last {Window} steps {MaxVioWindow:F3})",
                        status.Id, status.Phase, status.Step, status.Loss, status.TokensPerSecond, status.MaxVio, JobGrain.BalanceWindowSteps, status.MaxVioWindow);
                }

                if (status.IsFinal) return status;
                await Task.Delay(poll, cancellation);
            }
        }

        JobStatus last = await job.GetStatus();
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"job {last.Id}", maxValue: 1.0);
                while (true)
                {
                    last = await job.GetStatus();
                    task.Description = last.Step == 0
                        ? $"{last.Phase}: waiting for the first step"
                        : $"{last.Phase} step [bold]{last.Step}[/]  loss [green]{last.Loss:F4}[/]  tokens/s [blue]{last.TokensPerSecond:F0}[/]  MaxVio [yellow]{last.MaxVio:F3}[/] (last {JobGrain.BalanceWindowSteps} steps [yellow]{last.MaxVioWindow:F3}[/])";
                    task.Value = Math.Clamp(Fraction(last), 0, 1);
                    if (last.IsFinal) break;
                    await Task.Delay(poll, cancellation);
                }

                task.Value = 1.0;
            });
        return last;
    }
}
