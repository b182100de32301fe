using System.CommandLine;
using Orchestrator.Grains;
using Orchestrator.Silo.Cluster;
using Spectre.Console;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator jobs</c>: every job of the cluster with its phase and progress.</summary>
public static class JobsCommand
{
    public static Command Create()
    {
        var postgres = ClusterOptions.Postgres();
        var clusterId = ClusterOptions.ClusterId();
        var command = new Command("jobs", "List the cluster's jobs") { postgres, clusterId };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            await using var cluster = await ClusterConnection.OpenAsync(settings.Postgres!, settings.ClusterId, cancellation);
            var jobs = await cluster.CallAsync(c => c.GetGrain<IClusterGrain>(IClusterGrain.Key).GetJobs(), cancellation);
            var table = new Table().AddColumns("id", "phase", "step", "loss", "tokens/s", "updated");
            foreach (var job in jobs)
            {
                table.AddRow(Markup.Escape(job.Id), job.Phase.ToString(), $"{job.Step}/{job.Steps}", JobCommand.Loss(job),
                    $"{job.TokensPerSecond:F0}", job.UpdatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
