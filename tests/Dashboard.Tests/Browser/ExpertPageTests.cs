using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Orchestrator.Dashboard.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Dashboard.Tests.Browser;

/// <summary>
/// An expert-parallel job that re-places its experts (EP 2, 64 experts + 2 redundant slots, every 2 steps): the job page's
/// expert panel shows each MoE layer's map with replicas marked and each re-placement with the rank loads before and
/// after; the REST API returns the same.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class ExpertPageTests(DashboardSilo silo, Chromium chromium, ITestOutputHelper output) : IClassFixture<Chromium>
{
    [Fact]
    public async Task AReplacingJob_ShowsItsExpertMapWithReplicas_AndEachReplacementsRankLoads()
    {
        using var client = silo.Client();
        var id = "eplb-page-" + Guid.NewGuid().ToString("N")[..6];
        var spec = new JsonObject
        {
            ["id"] = id, ["config"] = "tiny", ["data"] = silo.Data, ["steps"] = 5000,
            ["training"] = new JsonObject { ["threads"] = 1, ["seq_len"] = 32, ["micro_batch_size"] = 2 },
            ["parallel"] = new JsonObject { ["ep"] = 2, ["redundant_experts"] = 2 },
            ["balancing"] = new JsonObject { ["replace_every"] = 2 },
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
                await page.WaitForSelectorAsync("#experts:not([hidden])", new() { Timeout = 60_000 });
                await page.WaitForFunctionAsync("() => document.querySelectorAll('.expert-move').length >= 2", null, new() { Timeout = 120_000 });
                // Three MoE layers (the main model's second and third, the MTP module's), two ranks of 33 slots each.
                Assert.Equal(3, await page.Locator(".expert-map").CountAsync());
                Assert.Equal(2, await page.Locator(".expert-map[data-layer='0'] .expert-shard").CountAsync());
                // Every one of the 64 experts shown; an expert marked replicated on one rank is marked on the other too.
                var chips = new List<string[]>();
                foreach (var rank in new[] { 0, 1 })
                    chips.Add([.. await page.Locator($".expert-map[data-layer='0'] .expert-shard[data-shard='{rank}'] .expert-chip").AllTextContentsAsync()]);
                Assert.Equal(Enumerable.Range(0, 64), chips.SelectMany(c => c).Select(t => int.Parse(t.Split('×')[0], System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order());
                Assert.Equal(chips[0].Where(t => t.Contains('×')).Order(), chips[1].Where(t => t.Contains('×')).Order());
                Assert.Equal("on", await page.TextContentAsync("#experts-balancing"));
                Assert.Equal(4, await page.Locator(".expert-move").First.Locator(".expert-bar").CountAsync()); // 2 ranks before, 2 after
                await page.Locator("#experts").ScrollIntoViewIfNeededAsync();
                await page.Locator("#experts").ScreenshotAsync(new LocatorScreenshotOptions { Path = Artifacts.File("dashboard-experts.png") });
            });

            using var response = await client.GetAsync($"/api/jobs/{id}/experts");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var view = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(3, view["layers"]!.AsArray().Count);
            var shards = view["layers"]![0]!["shards"]!.AsArray();
            // Every logical expert held somewhere; a shard holds at most its 33 slots' experts (two slots of one expert are one copy).
            Assert.Equal(Enumerable.Range(0, 64), shards.SelectMany(s => s!["experts"]!.AsArray().Select(c => c!["expert"]!.GetValue<int>())).Distinct().Order());
            Assert.All(shards, s => Assert.InRange(s!["experts"]!.AsArray().Count, 1, 33));
            Assert.All(shards, s => Assert.NotEmpty(s!["loads"]!.AsArray()));
            var moves = view["replacements"]!.AsArray();
            Assert.True(moves.Count >= 2);
            Assert.Equal(2, moves[0]!["rank_loads_before"]![0]!.AsArray().Count);
            output.WriteLine($"first move: {moves[0]!["rank_loads_before"]![0]!.ToJsonString()} → {moves[0]!["rank_loads_after"]![0]!.ToJsonString()}");

            using var dense = await client.GetAsync("/api/jobs/no-such-job/experts");
            Assert.Equal(HttpStatusCode.NotFound, dense.StatusCode);
        }
        finally
        {
            using var cancelled = await client.PostAsync($"/api/jobs/{id}/cancel", null);
        }
    }
}
