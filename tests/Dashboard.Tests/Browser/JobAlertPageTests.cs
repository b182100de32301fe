using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Dashboard.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Dashboard.Tests.Browser;

/// <summary>
/// A job's alerts on its page, in a real browser against a real silo: a job whose MaxVio stays above its threshold and
/// whose checkpoint write fails (an injected fault) shows both alerts in the banner, from the status the API streams,
/// and in the timeline. The screenshot is <c>docs/dashboard-alert.png</c>.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class JobAlertPageTests(DashboardSilo silo, Chromium chromium, ITestOutputHelper output) : IClassFixture<Chromium>
{
    [Fact]
    public async Task TheJobPage_ShowsTheJobsAlerts_InItsBanner()
    {
        var id = "alerts-" + Guid.NewGuid().ToString("N")[..6];
        var spec = TinyJob.Spec(id, silo.Data, 100_000);
        spec["alerts"] = new JsonObject { ["max_vio"] = 0, ["max_vio_steps"] = 2 };
        spec["faults"] = new JsonObject { ["checkpoint_fail_step"] = 2 };
        using var client = silo.Client();
        using (var submitted = await client.PostAsync("/api/jobs", new StringContent(spec.ToJsonString(), Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);

        var page = await chromium.NewPageAsync(silo.BaseUrl);
        try
        {
            await Chromium.ExplainingFailuresAsync(page, output.WriteLine, async () =>
            {
                await Chromium.SignInAsync(page, silo.Token);
                await page.GotoAsync($"/jobs/{id}", Chromium.Opened);

                await page.WaitForSelectorAsync("#alerts #alert-list li[data-kind=max-vio]");
                await page.WaitForSelectorAsync("#alerts #alert-list li[data-kind=checkpoint-failed]");
                Assert.True(await page.Locator("#alerts").IsVisibleAsync());
                Assert.Equal("2", await page.TextContentAsync("#alert-count"));
                await Assertions.Expect(page.Locator("#alert-list li[data-kind=max-vio] .detail")).ToContainTextAsync("has been above 0 for 2 steps in a row");
                await Assertions.Expect(page.Locator("#alert-list li[data-kind=checkpoint-failed] .detail")).ToContainTextAsync("checkpoint at step 2 abandoned");
                await page.WaitForSelectorAsync("#timeline li[data-kind=alert]");
                await page.WaitForFunctionAsync("() => Number(document.getElementById('step').textContent) >= 6");
                await page.EvaluateAsync("() => new Promise(done => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(done)), 700))");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("dashboard-alert.png"), FullPage = false });
            });
        }
        finally
        {
            using var cancelled = await client.PostAsync($"/api/jobs/{id}/cancel", null);
            for (var i = 0; i < 100 && !JsonNode.Parse(await client.GetStringAsync($"/api/jobs/{id}"))!["status"]!["final"]!.GetValue<bool>(); i++) await Task.Delay(100);
        }
    }
}
