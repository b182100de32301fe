using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
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
        var json = new Option<bool>("--json") { Description = "Print the status as one JSON object (phase, step, loss, tokens_per_s, …) instead of text" };
        var command = new Command("job", "Show one job: status, step, loss, tokens/s, ranks and events") { id, postgres, clusterId, json };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            await using var cluster = await ClusterConnection.OpenAsync(settings.Postgres!, settings.ClusterId, cancellation);
            var jobId = result.GetValue(id)!;
            var status = await cluster.CallAsync(c => c.GetGrain<IJobGrain>(jobId).GetStatus(), cancellation);
            if (result.GetValue(json))
            {
                Console.WriteLine(ToJson(status));
                return 0;
            }
            Print(status);
            foreach (var e in await cluster.CallAsync(c => c.GetGrain<IJobGrain>(jobId).GetEvents(), cancellation))
                Console.WriteLine($"  #{e.Seq} {e.At:u} {e.Kind} {e.DetailJson}");
            return 0;
        }));
        return command;
    }

    internal static string ToJson(JobStatus s) => new JsonObject
    {
        ["id"] = s.Id,
        ["phase"] = s.Phase.ToString(),
        ["epoch"] = s.Epoch,
        ["step"] = s.Step,
        ["steps"] = s.Steps,
        ["loss"] = double.IsFinite(s.Loss) ? s.Loss : null,
        ["tokens_per_s"] = s.TokensPerSecond,
        ["max_vio"] = s.MaxVio,
        ["max_vio_window"] = s.MaxVioWindow,
        ["error"] = s.Error,
        ["ranks"] = new JsonArray(s.Plan?.Ranks.Select(r => (JsonNode)new JsonObject { ["rank"] = r.Rank, ["node"] = r.Node, ["device"] = r.Device }).ToArray() ?? []),
    }.ToJsonString();

    internal static string Loss(JobStatus status) =>
        double.IsNaN(status.Loss) ? "-" : status.Loss.ToString("F4", CultureInfo.InvariantCulture);

    internal static void Print(JobStatus s)
    {
        Console.WriteLine($"job {s.Id}: {s.Phase} (epoch {s.Epoch})");
        Console.WriteLine($"  step {s.Step}/{s.Steps}  loss {Loss(s)}  tokens/s {s.TokensPerSecond:F0}  MaxVio {s.MaxVio:F3} (last {Grains.Jobs.JobGrain.BalanceWindowSteps} steps {s.MaxVioWindow:F3})");
        if (s.Error is not null) Console.WriteLine($"  error: {s.Error}");
        if (s.Plan is not null)
            Console.WriteLine($"  ranks: {string.Join(", ", s.Plan.Ranks.Select(r => $"{r.Rank}@{r.Node}/{r.Device}"))}");
    }
}
