using System.CommandLine;
using System.Globalization;
using Orchestrator.Grains;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator job ID</c>: one job's phase, step, loss, throughput, plan and history.</summary>
public static class JobCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "The job id" };
        var postgres = ClusterOptions.Postgres();
        var clusterId = ClusterOptions.ClusterId();
        var command = new Command("job", "Show one job: status, step, loss, tokens/s, ranks and events") { id, postgres, clusterId };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            await using var cluster = await ClusterConnection.OpenAsync(settings.Postgres!, settings.ClusterId, cancellation);
            var job = cluster.Client.GetGrain<IJobGrain>(result.GetValue(id)!);
            var status = await job.GetStatus();
            Print(status);
            foreach (var e in await job.GetEvents())
                Console.WriteLine($"  #{e.Seq} {e.At:u} {e.Kind} {e.DetailJson}");
            return 0;
        }));
        return command;
    }

    internal static string Loss(JobStatus status) =>
        double.IsNaN(status.Loss) ? "-" : status.Loss.ToString("F4", CultureInfo.InvariantCulture);

    internal static void Print(JobStatus s)
    {
        Console.WriteLine($"job {s.Id}: {s.Phase} (epoch {s.Epoch})");
        Console.WriteLine($"  step {s.Step}/{s.Steps}  loss {Loss(s)}  tokens/s {s.TokensPerSecond:F0}  MaxVio {s.MaxVio:F3}");
        if (s.Error is not null) Console.WriteLine($"  error: {s.Error}");
        if (s.Plan is not null)
            Console.WriteLine($"  ranks: {string.Join(", ", s.Plan.Ranks.Select(r => $"{r.Rank}@{r.Node}/{r.Device}"))}");
    }
}
