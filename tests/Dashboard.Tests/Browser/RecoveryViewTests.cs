using Microsoft.Playwright;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Dashboard.Security;
using Orchestrator.Dashboard.Tests.Support;
using Orchestrator.Grains.Tests.Support;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Orchestrator.Dashboard.Tests.Browser;

/// <summary>
/// Real silo processes on PostgreSQL clustering, the dashboard served by n2: a dp 2 job with peer snapshots runs a rank
/// on n1 and one on n2; n3 joins; n1 (rank 0's node) is killed by pid. Without a reload, the job page's recoveries table
/// shows the recovery: its state from memory, at most one step lost, and once the new epoch has stepped, the times.
/// </summary>
public sealed class RecoveryViewTests(Chromium chromium, ITestOutputHelper output) : IClassFixture<Chromium>, IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-dashboard-recovery-").FullName;

    /// <inheritdoc />
    public Task InitializeAsync() => _postgres.InitializeAsync();

    [Fact]
    public async Task ARecoveryFromPeerMemory_IsShownOnTheJobPage_WithItsSourceStepsLostAndTimes()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var postgres = await _postgres.DatabaseForAsync(typeof(RecoveryViewTests));
        var clusterId = "dashrec-" + Guid.NewGuid().ToString("N")[..8];
        var token = ApiTokens.Generate();
        var ports = Ports.Free(7);
        var storage = Path.Combine(_root, "storage");
        using var n1 = await SiloProcess.StartAsync(postgres, clusterId, "n1", "cpu:1", ports[0], ports[1], storage, timeout.Token);
        using var n2 = await SiloProcess.StartAsync(postgres, clusterId, "n2", "cpu:1", ports[2], ports[3], storage, timeout.Token,
            ["--dashboard-port", ports[6].ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new Dictionary<string, string> { ["ORCHESTRATOR__DASHBOARDTOKENHASHES__0"] = ApiTokens.Hash(token) });
        SiloProcess? n3 = null;
        var dashboard = new Uri($"http://127.0.0.1:{ports[6]}/");
        var page = await chromium.NewPageAsync(dashboard);
        try
        {
            await Chromium.ExplainingFailuresAsync(page, output.WriteLine, async () =>
            {
                await Chromium.SignInAsync(page, token);
                await page.WaitForSelectorAsync("#node-n1[data-alive=true]");
                await page.WaitForSelectorAsync("#node-n2[data-alive=true]");

                var spec = TinyJob.Spec("snap-view", TinyJob.Data(_root), 100_000);
                spec["parallel"] = new JsonObject { ["ep"] = 1, ["dp"] = 2 };
                spec["checkpoint"] = new JsonObject { ["every"] = 50, ["keep"] = 1, ["memory_copies"] = 1 };
                using (var api = new HttpClient { BaseAddress = dashboard })
                {
                    api.DefaultRequestHeaders.Authorization = new("Bearer", token);
                    using var submitted = await api.PostAsync("/api/jobs", new StringContent(spec.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
                    Assert.Equal(System.Net.HttpStatusCode.Created, submitted.StatusCode);
                }

                // The spare node joins once the ranks are placed on n1 and n2, so the recovery has two slots to go to.
                n3 = await SiloProcess.StartAsync(postgres, clusterId, "n3", "cpu:1", ports[4], ports[5], storage, timeout.Token);
                await page.GotoAsync("/jobs/snap-view", Chromium.Opened);
                await page.WaitForFunctionAsync("() => Number(document.getElementById('step').textContent) >= 4");
                Assert.True(await page.IsHiddenAsync("#recoveries"));

                n1.Kill();
                var row = page.Locator("#recoveries tbody tr[data-source=memory]");
                await row.WaitForAsync(new() { Timeout = 60_000 });
                await page.WaitForFunctionAsync("() => !document.querySelector('#recoveries tbody tr .next').textContent.includes('…')", null, new() { Timeout = 60_000 });
                output.WriteLine(await row.TextContentAsync());
                Assert.Equal("memory", await row.Locator(".source").TextContentAsync());
                Assert.True(int.Parse(await row.Locator(".lost").TextContentAsync() ?? "", System.Globalization.CultureInfo.InvariantCulture) <= 1);
                Assert.EndsWith(" s", await row.Locator(".next").TextContentAsync(), StringComparison.Ordinal);
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("job-recovered-from-memory.png"), FullPage = true });
            });
        }
        catch
        {
            SiloProcess.WriteTails(output.WriteLine, [n1, n2, n3]);
            throw;
        }
        finally
        {
            n3?.Dispose();
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
