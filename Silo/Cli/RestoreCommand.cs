using System.CommandLine;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>orchestrator restore JOB --step S</c>: starts a new job from a committed checkpoint of JOB, with JOB's
/// spec (read from the index) and <c>resume_from</c> recording where it came from (<see cref="JobRestore"/>, as the
/// dashboard's restore builds it).
/// </summary>
public static class RestoreCommand
{
    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "The job whose checkpoint to start from" };
        var step = new Option<long>("--step") { Description = "The committed checkpoint's step (see: orchestrator checkpoints JOB)", Required = true };
        var id = new Option<string?>("--id") { Description = "The new job's id (default: JOB-from-S)" };
        var parallel = new Option<string?>("--parallel") { Description = "A new parallel section, e.g. '{\"pp\": 2}' (default: the job's own); shards are read by tensor name" };
        var postgres = ClusterOptions.Postgres();
        var clusterId = ClusterOptions.ClusterId();
        var command = new Command("restore", "Start a new job from a committed checkpoint") { job, step, id, parallel, postgres, clusterId };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var source = result.GetValue(job)!;
            var at = result.GetValue(step);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            if (string.IsNullOrWhiteSpace(settings.Postgres))
                throw new ArgumentException("no database: give --postgres (or ORCHESTRATOR__POSTGRES)");
            JobSpec spec;
            await using (var store = await PostgresMetadataStore.OpenAsync(settings.Postgres, cancellationToken: cancellation))
            {
                var record = await store.GetJobAsync(source, cancellation);
                IReadOnlyCollection<long> committed = record is null ? [] : (await store.ListCheckpointsAsync(source, cancellation)).Select(c => c.Step).ToList();
                spec = JobRestore.From(source, record?.SpecJson, at, committed, result.GetValue(id), result.GetValue(parallel));
            }

            await using var cluster = await ClusterConnection.OpenAsync(settings.Postgres, settings.ClusterId, cancellation);
            var status = await cluster.Client.GetGrain<IJobGrain>(spec.Id).Submit(spec);
            Console.WriteLine($"{status.Id} {status.Phase} from {source}@{at}");
            return 0;
        }));
        return command;
    }
}
