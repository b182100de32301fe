using System.Diagnostics;
using Microsoft.Playwright;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Dashboard.Security;
using Orchestrator.Dashboard.Tests.Support;
using Orchestrator.Grains.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Dashboard.Tests.Browser;

/// <summary>
/// Two real silo processes on PostgreSQL clustering (one CPU slot each), the dashboard served by the
/// first, an EP 2 job with a rank on each: when the second is killed by pid, the cluster page shows it
/// dead and the job page shows the job recovering (naming n2), without a reload.
/// </summary>
public sealed class NodeLossTests(Chromium chromium, ITestOutputHelper output) : IClassFixture<Chromium>, IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-dashboard-loss-").FullName;

    /// <inheritdoc />
    public Task InitializeAsync() => _postgres.InitializeAsync();

    [Fact]
    public async Task AKilledNode_TurnsDeadOnTheClusterPage_AndItsJobShowsTheLoss_WithinSeconds()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var postgres = await _postgres.DatabaseForAsync(typeof(NodeLossTests));
        var clusterId = "dash-" + Guid.NewGuid().ToString("N")[..8];
        var token = ApiTokens.Generate();
        var ports = Ports.Free(5);
        using var n1 = await SiloProcess.StartAsync(postgres, clusterId, "n1", "cpu:1", ports[0], ports[1], Path.Combine(_root, "n1"), timeout.Token,
            ["--dashboard-port", ports[4].ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new Dictionary<string, string> { ["ORCHESTRATOR__DASHBOARDTOKENHASHES__0"] = ApiTokens.Hash(token) });
        using var n2 = await SiloProcess.StartAsync(postgres, clusterId, "n2", "cpu:1", ports[2], ports[3], Path.Combine(_root, "n2"), timeout.Token);

        var dashboard = new Uri($"http://127.0.0.1:{ports[4]}/");
        var page = await chromium.NewPageAsync(dashboard);
        try
        {
            await Chromium.ExplainingFailuresAsync(page, output.WriteLine, async () =>
            {
                await Chromium.SignInAsync(page, token);
                await page.WaitForSelectorAsync("#node-n1[data-alive=true]");
                await page.WaitForSelectorAsync("#node-n2[data-alive=true]");

                // An EP 2 job: one rank per node (each has one slot), submitted through the API.
                var spec = TinyJob.Spec("ep2-loss", TinyJob.Data(_root), 100_000);
                spec["parallel"]!["ep"] = 2;
                using (var api = new HttpClient { BaseAddress = dashboard })
                {
                    api.DefaultRequestHeaders.Authorization = new("Bearer", token);
                    using var submitted = await api.PostAsync("/api/jobs", new StringContent(spec.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
                    Assert.Equal(System.Net.HttpStatusCode.Created, submitted.StatusCode);
                }

                await page.WaitForSelectorAsync("#node-n2 .device.used >> text=ep2-loss");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("cluster-two-nodes.png"), FullPage = true });
                var job = await page.Context.NewPageAsync();
                await job.GotoAsync("/jobs/ep2-loss", Chromium.Opened);
                await job.WaitForFunctionAsync("() => Number(document.getElementById('step').textContent) >= 2");

                var clock = Stopwatch.StartNew();
                n2.Kill();
                await page.WaitForSelectorAsync("#node-n2[data-alive=false]", new() { Timeout = 30_000 });
                output.WriteLine($"n2 shown dead {clock.Elapsed.TotalSeconds:F1} s after the kill");
                Assert.Equal("dead", await page.TextContentAsync("#node-n2 .health"));
                Assert.Equal("true", await page.GetAttributeAsync("#node-n1", "data-alive"));
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("cluster-node-lost.png"), FullPage = true });

                // Whichever notices first (the membership watcher: node-lost; a peer's failed send: a rank failure),
                // the job moves to recovery at the next epoch, and its page says so; the history names n2 either way.
                await job.WaitForSelectorAsync("#timeline li[data-kind=recovering]", new() { Timeout = 30_000 });
                output.WriteLine($"recovering on the job page {clock.Elapsed.TotalSeconds:F1} s after the kill");
                output.WriteLine(await job.TextContentAsync("#timeline li[data-kind=recovering]"));
                await job.WaitForSelectorAsync("#timeline li[data-kind=node-lost]", new() { Timeout = 30_000 });
                Assert.Contains("n2", await job.TextContentAsync("#timeline li[data-kind=node-lost]") ?? "", StringComparison.Ordinal);
                // The job waits for slots to re-plan its two ranks on (n1 has one): Recovering, at the next epoch.
                await job.WaitForFunctionAsync("() => document.getElementById('phase').textContent === 'Recovering'");
                Assert.Equal("2", await job.TextContentAsync("#epoch"));
                await job.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("job-node-lost.png"), FullPage = true });
            });
        }
        catch
        {
            SiloProcess.WriteTails(output.WriteLine, [n1, n2]);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
