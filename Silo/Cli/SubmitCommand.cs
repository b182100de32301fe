using System.CommandLine;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator submit job.json</c>: validates a job spec, then hands it to the cluster.</summary>
public static class SubmitCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("job") { Description = "The job spec (JSON; see deploy/jobs/)" };
        var postgres = ClusterOptions.Postgres();
        var clusterId = ClusterOptions.ClusterId();
        var command = new Command("submit", "Submit a job to the cluster; prints its id") { file, postgres, clusterId };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var path = result.GetValue(file)!;
            if (!path.Exists) throw new FileNotFoundException($"job spec not found: {path.FullName}");
            // Parsed here first: a bad spec fails before anything is sent, and the silos get the model inline.
            var spec = JobSpecParser.Parse(await File.ReadAllTextAsync(path.FullName, cancellation),
                ConfigCatalog.Resolver(path.DirectoryName), path.DirectoryName);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            await using var cluster = await ClusterConnection.OpenAsync(settings.Postgres!, settings.ClusterId, cancellation);
            var status = await cluster.Client.GetGrain<IJobGrain>(spec.Id).Submit(spec);
            Console.WriteLine($"{status.Id} {status.Phase}");
            return 0;
        }));
        return command;
    }
}
