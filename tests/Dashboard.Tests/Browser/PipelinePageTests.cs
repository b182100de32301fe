using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Orchestrator.Dashboard.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Dashboard.Tests.Browser;

/// <summary>A pipeline job's stages on the job page: each stage's newest step as F/B bars in time, and the bubble; the same in the REST API.</summary>
[Collection(SiloCollection.Name)]
public sealed class PipelinePageTests(DashboardSilo silo, Chromium chromium, ITestOutputHelper output) : IClassFixture<Chromium>
{
    [Fact]
    public async Task APipelineJob_ShowsEachStagesTimeline_AndTheBubble()
    {
        using var client = silo.Client();
        var id = "pp-page-" + Guid.NewGuid().ToString("N")[..6];
        var spec = new JsonObject
        {
            ["id"] = id, ["config"] = "tiny", ["data"] = silo.Data, ["steps"] = 5000,
            ["training"] = new JsonObject { ["threads"] = 1, ["seq_len"] = 64, ["micro_batch_size"] = 2, ["gradient_accumulation"] = 4 },
            ["parallel"] = new JsonObject { ["pp"] = 2, ["schedule"] = "1f1b" },
        };
        using (var submitted = await client.PostAsync("/api/jobs", new StringContent(spec.ToJsonString(), Encoding.UTF8, "application/json")))
            Assert.True(submitted.StatusCode == HttpStatusCode.Created, await submitted.Content.ReadAsStringAsync());
        try
        {
            var page = await chromium.NewPageAsync(silo.BaseUrl);
            await Chromium.ExplainingFailuresAsync(page, output.WriteLine, async () =>
            {
                await Chromium.SignInAsync(page, silo.Token);
                await page.GotoAsync(new Uri(silo.BaseUrl, $"/jobs/{id}").ToString());
                await page.WaitForSelectorAsync("#pipeline:not([hidden])", new() { Timeout = 60_000 });
                await page.WaitForFunctionAsync("() => document.querySelectorAll('.pipeline-row').length === 2"
                    + " && [...document.querySelectorAll('.pipeline-row')].every(r => r.querySelector('.pipeline-bar[data-op=F]') && r.querySelector('.pipeline-bar[data-op=B]'))",
                    null, new() { Timeout = 60_000 });
                Assert.Equal("1f1b", await page.TextContentAsync("#pipeline-schedule"));
                // Each of the 4 micro-batches has a forward and a backward bar on each stage.
                Assert.Equal(8, await page.Locator(".pipeline-row[data-stage='0'] .pipeline-bar").CountAsync());
                await page.Locator("#pipeline").ScrollIntoViewIfNeededAsync();
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("pipeline.png"), FullPage = true });
            });

            using var response = await client.GetAsync($"/api/jobs/{id}/pipeline");
            var view = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            var stages = view["stages"]!.AsArray();
            Assert.Equal([0, 1], stages.Select(s => s!["stage"]!.GetValue<int>()));
            Assert.All(stages, s => Assert.Equal(8, s!["intervals"]!.AsArray().Count));
            output.WriteLine($"bubble {view["bubble"]}");

            using var dense = await client.GetAsync("/api/jobs/no-such-job/pipeline");
            Assert.Equal(HttpStatusCode.NotFound, dense.StatusCode);
        }
        finally
        {
            using var cancelled = await client.PostAsync($"/api/jobs/{id}/cancel", null);
        }
    }
}
