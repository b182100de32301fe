using System.CommandLine;
using Orchestrator.Grains;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator cancel ID</c>: stops a job's ranks and records it cancelled.</summary>
public static class CancelCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "The job id" };
        var postgres = ClusterOptions.Postgres();
        var clusterId = ClusterOptions.ClusterId();
        var command = new Command("cancel", "Cancel a job (a finished job is left as it is)") { id, postgres, clusterId };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            await using var cluster = await ClusterConnection.OpenAsync(settings.Postgres!, settings.ClusterId, cancellation);
            var jobId = result.GetValue(id)!;
            var status = await cluster.CallAsync(c => c.GetGrain<IJobGrain>(jobId).Cancel(), cancellation); // cancelling twice is harmless
            Console.WriteLine($"{status.Id} {status.Phase}");
            return 0;
        }));
        return command;
    }
}
