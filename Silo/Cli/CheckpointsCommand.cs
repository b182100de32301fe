using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Storage;
using Spectre.Console;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>orchestrator checkpoints JOB</c>: a job's committed checkpoints (step, size, write time, epoch, hash
/// status), read straight from the index with plain SQL; <c>--verify</c> hashes the shard files.
/// </summary>
public static class CheckpointsCommand
{
    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "The job id" };
        var postgres = ClusterOptions.Postgres();
        var clusterId = ClusterOptions.ClusterId();
        var json = new Option<bool>("--json") { Description = "Print the checkpoints as JSON (one array) instead of a table" };
        var verify = new Option<bool>("--verify") { Description = "Read every shard file and check its size and SHA-256 against the index" };
        var storage = new Option<string?>("--storage") { Description = "Storage root holding the shards, for --verify (default: the silo's storage setting)" };
        var command = new Command("checkpoints", "List a job's committed checkpoints") { job, postgres, clusterId, json, verify, storage };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            if (string.IsNullOrWhiteSpace(settings.Postgres))
                throw new ArgumentException("no database: give --postgres (or ORCHESTRATOR__POSTGRES)");
            await using var store = await PostgresMetadataStore.OpenAsync(settings.Postgres, cancellationToken: cancellation);
            var checkpoints = await store.ListCheckpointsAsync(result.GetValue(job)!, cancellation);
            var root = result.GetValue(storage) ?? settings.Storage;
            var check = result.GetValue(verify);
            if (check && string.IsNullOrWhiteSpace(root)) throw new ArgumentException("--verify needs the storage root: give --storage");
            var rows = checkpoints.Select(c => Row(c, check ? root : null)).ToList();
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(rows, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
            }
            else
            {
                var table = new Table().AddColumns("step", "epoch", "size", "write s", "shards", "hashes", "committed", "kind", "parent");
                foreach (var row in rows)
                {
                    table.AddRow(row.Step.ToString(CultureInfo.InvariantCulture), row.Epoch.ToString(CultureInfo.InvariantCulture), Size(row.Bytes),
                        row.DurationSeconds.ToString("F3", CultureInfo.InvariantCulture), row.Shards.ToString(CultureInfo.InvariantCulture),
                        Markup.Escape(row.Hashes), row.CommittedAt.ToString("u", CultureInfo.InvariantCulture), row.Kind, row.Parent ?? "-");
                }

                AnsiConsole.Write(table);
            }

            return rows.Any(r => r.Problems.Count > 0) ? CommandErrors.UserError : 0;
        }));
        return command;
    }

    private static CheckpointRow Row(CheckpointManifest c, string? root)
    {
        var problems = root is null ? [] : c.Shards.Select(s => ShardFile.Problem(root, s)).OfType<string>().ToList();
        var hashes = root is null ? "recorded (not verified)" : problems.Count == 0 ? "verified" : "CORRUPT: " + string.Join("; ", problems);
        return new CheckpointRow(c.Step, c.Epoch, c.Bytes, c.DurationSeconds, c.Shards.Count, hashes, problems, c.CommittedAt)
        {
            Kind = c.Kind,
            Parent = c.Parent is { } parent ? $"{parent.JobId}@{parent.Step.ToString(CultureInfo.InvariantCulture)}" : null,
        };
    }

    private static string Size(long bytes) =>
        bytes >= 1 << 30 ? $"{bytes / (double)(1 << 30):F2} GiB" : bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):F2} MiB" : $"{bytes / 1024.0:F1} KiB";

    private sealed record CheckpointRow(long Step, long Epoch, long Bytes, double DurationSeconds, int Shards, string Hashes, IReadOnlyList<string> Problems, DateTimeOffset CommittedAt)
    {
        /// <summary>The writing job's kind.</summary>
        public string Kind { get; init; } = "pretrain";

        /// <summary>The checkpoint the writing job started from, as <c>job@step</c>; null from the seed.</summary>
        public string? Parent { get; init; }
    }
}
