using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Dashboard.Security;
using Orchestrator.Grains;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Silo.Cluster;
using Orchestrator.Silo.Telemetry;
using Orchestrator.Silo.Training;
using Serilog;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>orchestrator demo</c>: needs no file and no service. Generates the demo corpus, starts one silo
/// in-process (localhost clustering, SQLite index in the work folder), submits the tiny job to it and
/// follows it with a live progress bar.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var workDir = new Option<DirectoryInfo>("--work-dir") { Description = "Folder for the demo corpus, dataset, index and checkpoints", DefaultValueFactory = _ => new DirectoryInfo(DefaultWorkDir) };
        var duration = new Option<int>("--seconds") { Description = "Training time", DefaultValueFactory = _ => 60 };
        var steps = new Option<long>("--steps") { Description = "Stop earlier at this step", DefaultValueFactory = _ => 100_000 };
        var summary = new Option<FileInfo?>("--summary-json") { Description = "Write a JSON summary of the run here" };
        var devices = new Option<string>("--devices") { Description = "The silo's device slots: cpu:1 (one CPU slot, the default), cuda:0 (a GPU rank), cuda:0-1 (two GPUs, with --ep 2)", DefaultValueFactory = _ => "cpu:1" };
        var ep = new Option<int>("--ep") { Description = "Expert-parallel ranks of the demo job (one slot each)", DefaultValueFactory = _ => 1 };
        var dataPlane = new Option<string>("--data-plane") { Description = "How the ranks exchange tensors: auto (NCCL when every rank is on a GPU), nccl or grains", DefaultValueFactory = _ => "auto" };
        var dashboardPort = new Option<int>("--dashboard-port") { Description = "Dashboard port on 127.0.0.1 (0: a free port)", DefaultValueFactory = _ => 0 };
        var noDashboard = new Option<bool>("--no-dashboard") { Description = "Do not serve the dashboard" };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve Prometheus metrics on http://127.0.0.1:PORT/metrics" };
        var otlpEndpoint = new Option<string?>("--otlp-endpoint") { Description = "Also push metrics to this OTLP collector (gRPC), e.g. http://localhost:4317" };
        var stay = new Option<bool>("--stay") { Description = "Keep the silo, its dashboard and its metrics running after the job ends, until Ctrl+C" };
        var command = new Command("demo", "Train the tiny DeepSeek-V3-style model on a generated corpus, as a job of a one-silo cluster on this machine, for a minute")
        {
            workDir, duration, steps, summary, devices, ep, dataPlane, dashboardPort, noDashboard, metricsPort, otlpEndpoint, stay,
        };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var root = result.GetValue(workDir)!.FullName;
            var seconds = result.GetValue(duration);
            if (seconds <= 0) throw new ArgumentException($"--seconds must be greater than 0 (got {seconds})");
            if (result.GetValue(steps) <= 0) throw new ArgumentException($"--steps must be greater than 0 (got {result.GetValue(steps)})");
            var ranks = result.GetValue(ep);
            if (ranks < 1) throw new ArgumentException($"--ep must be at least 1 (got {ranks})");
            var plane = result.GetValue(dataPlane)!;
            if (plane is not ("auto" or "nccl" or "grains")) throw new ArgumentException($"--data-plane: expected auto, nccl or grains (got \"{plane}\")");
            var slots = DeviceList.Parse(result.GetValue(devices)!);
            if (slots.Count < ranks) throw new ArgumentException($"--devices: the demo job has {ranks} rank(s), one slot each; name at least {ranks} slot(s) (got {slots.Count})");
            var metrics = MetricsExport.From(result.GetValue(metricsPort), result.GetValue(otlpEndpoint));
            var data = PrepareDemoData(root);
            GlobalOptions.StartTorch(result);

            Directory.CreateDirectory(root);
            await using var store = await SqliteMetadataStore.OpenAsync(Path.Combine(root, "index.db"), cancellationToken: cancellation);
            var node = new NodeOptions { Name = "local", Devices = [.. slots], StorageRoot = Path.Combine(root, "checkpoints") };
            var token = result.GetValue(noDashboard) ? null : ApiTokens.Generate();
            var port = result.GetValue(dashboardPort) is > 0 and var chosen ? chosen : FreePort();
            var dashboard = token is null ? null : DashboardHosting.For(
                DashboardHosting.UrlOf(null, port)!, ClusterOptions.LoadSettings().DashboardTokenHashes.Append(ApiTokens.Hash(token)), data);
            using var host = SiloHost.ForDemo(node, store, FreePort(), FreePort(), dashboard, metrics, metrics.TraceExporter);
            await host.StartAsync(cancellation);
            await host.Services.GetRequiredService<NodeRegistrar>().Registered.WaitAsync(cancellation);
            // On the console only, never in a log: the token is this run's key to the dashboard.
            if (dashboard is not null) Console.WriteLine($"Dashboard: {dashboard.Url}/  (sign in with the token {token}; it is valid for this run only)");
            if (metrics.ScrapeUrl is { } scrape) Console.WriteLine($"Metrics: {scrape}");

            var spec = JobSpecParser.Parse(SpecJson(data, result.GetValue(steps), seconds, ranks, plane), ConfigCatalog.Resolver(null));
            var job = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>(spec.Id);
            Log.Information("Submitting job {Job} to the in-process silo (index: {Index})", spec.Id, Path.Combine(root, "index.db"));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await job.Submit(spec);
            var client = host.Services.GetRequiredService<IConfiguration>().GetSection(ClientOptions.Section).Get<ClientOptions>() ?? new ClientOptions();
            var final = await JobProgress.FollowAsync(job, seconds, client.Validated().ProgressPoll, cancellation);
            var outcome = await Summarize(store, final, spec, node, clock.Elapsed.TotalSeconds, result.GetValue(summary)?.FullName);
            if (result.GetValue(stay) && (dashboard is not null || metrics.ScrapeUrl is not null))
            {
                Console.WriteLine(dashboard is not null ? $"The dashboard stays at {dashboard.Url}/ until Ctrl+C." : $"The metrics stay at {metrics.ScrapeUrl} until Ctrl+C.");
                await Task.Delay(Timeout.Infinite, cancellation).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            await host.StopAsync(CancellationToken.None);
            return outcome;
        }));
        return command;
    }

    /// <summary>Steps between the demo job's checkpoints.</summary>
    private const long CheckpointEvery = 20;

    private static string DefaultWorkDir => Path.Combine(Path.GetTempPath(), "orchestrator-demo");

    private static string SpecJson(string data, long steps, int seconds, int ep, string dataPlane) =>
        new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = "demo-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture),
            ["config"] = "tiny",
            ["data"] = data,
            ["steps"] = steps,
            ["max_seconds"] = seconds,
            // Within the minute, and at the last step of a short run (--steps), so the demo always shows one.
            ["checkpoint"] = new System.Text.Json.Nodes.JsonObject { ["every"] = Math.Min(steps, CheckpointEvery), ["keep"] = 2 },
            ["parallel"] = new System.Text.Json.Nodes.JsonObject { ["ep"] = ep },
            ["data_plane"] = dataPlane,
        }.ToJsonString();

    private static async Task<int> Summarize(SqlMetadataStore store, JobStatus final, JobSpec spec, NodeOptions node, double seconds, string? summaryPath)
    {
        if (final.Phase != JobPhase.Completed)
        {
            Log.Error("Job {Job} ended {Phase}: {Error}", final.Id, final.Phase, final.Error);
            return CommandErrors.TrainingStopped;
        }

        var summary = await JobRunSummary.ReadAsync(store, final, spec, node.StorageRoot, seconds);
        if (summaryPath is not null) summary.Write(summaryPath);
        Log.Information("Done: {Steps} steps this run, loss {First:F4} → {Last:F4}, {TokensPerSecond:F0} tokens/s, MaxVio {MaxVio:F3} (last {Window} steps {MaxVioWindow:F3}), {Tokens:N0} tokens in {Seconds:F0} s",
            summary.StepsThisRun, summary.LossFirst, summary.LossLast, summary.TokensPerSecond, summary.MaxVioLast, JobGrain.BalanceWindowSteps,
            summary.MaxVioWindowLast ?? 0, summary.TokensSeen, summary.Seconds);
        foreach (var rank in summary.Ranks)
            Log.Information("Rank {Rank} on {Device}: data plane: {DataPlane} ({Reason})", rank.Rank, rank.Device, rank.DataPlane, rank.Reason);
        if (summary.LastCheckpoint is not null) Log.Information("Last checkpoint: {Folder}", summary.LastCheckpoint);
        else Log.Information("No checkpoint was committed (the demo writes one every {Every} steps)", spec.Checkpoint.Every);
        return 0;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string PrepareDemoData(string root)
    {
        var data = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(data, DatasetIndex.FileName)))
        {
            Log.Information("Using the demo dataset in {Folder}", data);
            return data;
        }
        var corpus = Path.Combine(root, "corpus");
        if (Directory.Exists(corpus)) Directory.Delete(corpus, recursive: true);
        var files = DemoCorpus.Write(corpus);
        var index = new TokenShardWriter(TokenizerCatalog.Create(ByteTokenizer.CatalogName)).Write(files, data, overwrite: true);
        Log.Information("Generated the demo corpus ({Files} files) and tokenized it: {Tokens:N0} byte tokens in {Folder}", files.Count, index.TotalTokens, data);
        return data;
    }
}
