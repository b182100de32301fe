using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Orchestrator.Dashboard.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Dashboard.Tests.Browser;

/// <summary>
/// A grpo job (EP 2) from a pretrain job's checkpoint: the job page's grpo panel draws its reward, length, KL, clip and
/// generation charts and lists sampled completions with their rewards; the REST API returns the same series, and refuses
/// the view for a job of another kind.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class GrpoPageTests(DashboardSilo silo, Chromium chromium, ITestOutputHelper output) : IClassFixture<Chromium>
{
    private static JsonObject Model() => new()
    {
        ["vocab_size"] = 257, ["dim"] = 32, ["inter_dim"] = 64, ["moe_inter_dim"] = 16, ["n_layers"] = 2, ["n_dense_layers"] = 1, ["n_heads"] = 2,
        ["n_routed_experts"] = 8, ["n_shared_experts"] = 1, ["n_activated_experts"] = 2, ["n_expert_groups"] = 2, ["n_limited_groups"] = 1,
        ["score_func"] = "sigmoid", ["route_scale"] = 1.0, ["q_lora_rank"] = 16, ["kv_lora_rank"] = 16, ["qk_nope_head_dim"] = 16,
        ["qk_rope_head_dim"] = 8, ["v_head_dim"] = 16, ["max_seq_len"] = 64, ["mtp_depth"] = 0,
    };

    [Fact]
    public async Task AGrpoJob_ShowsItsRewardCharts_AndSampledCompletionsWithTheirRewards()
    {
        using var client = silo.Client();
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var (parent, id) = ("grpo-parent-" + suffix, "grpo-page-" + suffix);
        var pretrain = new JsonObject
        {
            ["id"] = parent, ["model"] = Model(), ["data"] = silo.Data, ["steps"] = 2,
            ["training"] = new JsonObject { ["threads"] = 1, ["seq_len"] = 32, ["micro_batch_size"] = 2 },
            ["parallel"] = new JsonObject { ["ep"] = 1 }, ["checkpoint"] = new JsonObject { ["every"] = 2 },
        };
        await SubmitAsync(client, pretrain);
        await WaitForCheckpointAsync(client, parent);

        var prompts = Path.Combine(silo.Root, $"prompts-{suffix}.jsonl");
        File.WriteAllLines(prompts, Enumerable.Range(1, 8).Select(i => $"{{\"prompt\": \"{i}+{i + 2}?\", \"answer\": \"{2 * i + 2}\"}}"));
        var grpo = new JsonObject
        {
            ["id"] = id, ["kind"] = "grpo", ["model"] = Model(), ["data"] = prompts, ["steps"] = 8,
            ["training"] = new JsonObject { ["threads"] = 1, ["seq_len"] = 32, ["micro_batch_size"] = 2, ["lr"] = 0.01, ["warmup_steps"] = 0 },
            ["parallel"] = new JsonObject { ["ep"] = 2 }, ["checkpoint"] = new JsonObject { ["every"] = 4 },
            ["grpo"] = new JsonObject { ["from_checkpoint"] = new JsonObject { ["job"] = parent, ["step"] = 2 }, ["group_size"] = 4, ["passes"] = 2, ["max_new_tokens"] = 16 },
        };
        await SubmitAsync(client, grpo);
        var page = await chromium.NewPageAsync(silo.BaseUrl);
        await Chromium.ExplainingFailuresAsync(page, output.WriteLine, async () =>
        {
            await Chromium.SignInAsync(page, silo.Token);
            await page.GotoAsync(new Uri(silo.BaseUrl, $"/jobs/{id}").ToString());
            await page.WaitForSelectorAsync("#grpo:not([hidden])", new() { Timeout = 60_000 });
            await page.WaitForFunctionAsync("() => document.querySelectorAll('.grpo-sample').length >= 4", null, new() { Timeout = 120_000 });
            foreach (var chartId in new[] { "grpo-reward-chart", "grpo-length-chart", "grpo-kl-chart", "grpo-clip-chart", "grpo-speed-chart" })
                Assert.Equal(1, await page.Locator($"#{chartId} canvas").CountAsync());
            Assert.StartsWith("step ", await page.TextContentAsync("#grpo-latest"), StringComparison.Ordinal);
            var first = page.Locator(".grpo-sample").First;
            Assert.Equal(5, await first.Locator("td").CountAsync()); // step, prompt, completion, accuracy, format
            Assert.True(await page.Locator("#no-grpo-samples").IsHiddenAsync());
            await page.WaitForFunctionAsync("() => /Completed/.test(document.getElementById('phase').textContent)", null, new() { Timeout = 120_000 });
            await page.WaitForTimeoutAsync(2500); // the panel's next poll: every step drawn
            await page.Locator("#grpo").ScrollIntoViewIfNeededAsync();
            await page.Locator("#grpo").ScreenshotAsync(new LocatorScreenshotOptions { Path = Artifacts.File("dashboard-grpo.png") });
        });

        using var response = await client.GetAsync($"/api/jobs/{id}/grpo");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var view = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(Enumerable.Range(1, 8).Select(s => (long)s), view["series"]!["grpo_reward"]!.AsArray().Select(p => p![0]!.GetValue<long>()));
        Assert.All(view["series"]!["grpo_length"]!.AsArray(), p => Assert.InRange(p![1]!.GetValue<double>(), 1, 16));
        Assert.Empty(view["series"]!["mtp_acceptance"]!.AsArray());
        var samples = view["samples"]!.AsArray();
        Assert.Equal(5, samples.Count); // the newest five steps' samples
        Assert.Equal(8, samples[0]!["step"]!.GetValue<long>());
        Assert.Equal(2, samples[0]!["samples"]!.AsArray().Count); // rank 0's two groups
        output.WriteLine(samples[0]!.ToJsonString());

        using var other = await client.GetAsync($"/api/jobs/{parent}/grpo");
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Contains("\"field\":\"kind\"", await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task SubmitAsync(HttpClient client, JsonObject spec)
    {
        using var submitted = await client.PostAsync("/api/jobs", new StringContent(spec.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(submitted.StatusCode == HttpStatusCode.Created, await submitted.Content.ReadAsStringAsync());
    }

    private static async Task WaitForCheckpointAsync(HttpClient client, string id)
    {
        for (var i = 0; i < 600; i++)
        {
            var checkpoints = JsonNode.Parse(await client.GetStringAsync($"/api/jobs/{id}/checkpoints"))!.AsArray();
            var job = JsonNode.Parse(await client.GetStringAsync($"/api/jobs/{id}"))!;
            if (checkpoints.Count > 0 && job.ToJsonString().Contains("\"Completed\"", StringComparison.OrdinalIgnoreCase)) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"job {id} committed no checkpoint");
    }
}
