using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Dashboard.Tests.Support;

namespace Orchestrator.Dashboard.Tests.Api;

/// <summary>Submitting through the API: bad specs are a 400 naming the field and record nothing; a good one runs and cancels.</summary>
[Collection(SiloCollection.Name)]
public sealed class JobSpecApiTests(DashboardSilo silo)
{
    public static TheoryData<string, string> BadSpecs => new()
    {
        { """{"config": "tiny", "data": "/d", "steps": 0}""", "steps" },
        { """{"config": "tiny", "data": "/d"}""", "steps" },
        { """{"config": "tiny", "data": "/d", "steps": "ten"}""", "steps" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "parallel": {"ep": 3}}""", "parallel.ep" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "parallel": {"tp": 2}}""", "parallel.tp" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "parallel": {"ep": 1, "dp": 1, "ranks": 4}}""", "parallel.ranks" },
        { """{"config": "nope", "data": "/d", "steps": 10}""", "config" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "fp8": "yes"}""", "fp8" },
        { """{"config": "tiny", "steps": 10}""", "data" },
        { """{"id": "Bad Id", "config": "tiny", "data": "/d", "steps": 10}""", "id" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "checkpoint": {"keep": 0}}""", "checkpoint.keep" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "training": {"lr": -1}}""", "training.lr" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "max_seconds": 0}""", "max_seconds" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "colour": "red"}""", "colour" },
        { new JsonObject { ["model"] = WithDim(-1), ["data"] = "/d", ["steps"] = 10 }.ToJsonString(), "model.dim" },
        { """{"config": "tiny", "model": {}, "data": "/d", "steps": 10}""", "model" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "parallel": {"pp": 2, "ep": 2, "redundant_experts": 2}, "training": {"gradient_accumulation": 4}}""", "parallel.redundant_experts" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "parallel": {"pp": 2, "ep": 2}, "training": {"gradient_accumulation": 4}, "balancing": {"replace_every": 2}}""", "balancing" },
        { """{"config": "tiny", "data": "/d", "steps": 10, "parallel": {"ep": 4}, "balancing": {"replace_every": 2}, "simulation": {"step_ms": 10}}""", "balancing" },
        { "this is not json", "(root)" },
        { "[1, 2, 3]", "(root)" },
    };

    private static JsonObject WithDim(int dim)
    {
        var model = TinyJob.Model();
        model["dim"] = dim;
        return model;
    }

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task ABadSpec_Is400_NamingTheField_AndRecordsNothing(string spec, string field)
    {
        var before = (await silo.Store.ListJobsAsync()).Count;
        using var client = silo.Client();
        foreach (var path in new[] { "/api/jobs", "/api/jobs/validate" })
        {
            using var response = await client.PostAsync(path, new StringContent(spec, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = await response.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal(field, (string?)error!["field"]);
            Assert.StartsWith(field + ": ", (string?)error["error"], StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        }

        Assert.Equal(before, (await silo.Store.ListJobsAsync()).Count);
    }

    [Fact]
    public async Task AGoodSpec_Is201_RunsOnTheNode_AndCancels()
    {
        using var client = silo.Client();
        var spec = TinyJob.Spec("api-job-" + Guid.NewGuid().ToString("N")[..6], silo.Data, 100_000);
        using var submitted = await client.PostAsync("/api/jobs", new StringContent(spec.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var id = (string)spec["id"]!;

        JsonObject? job = null;
        for (var i = 0; i < 120 && (long?)job?["status"]?["step"] is null or < 2; i++)
        {
            await Task.Delay(250);
            job = await client.GetFromJsonAsync<JsonObject>($"/api/jobs/{id}");
        }

        Assert.Equal("Running", (string?)job!["status"]!["phase"]);
        Assert.Equal("local", (string?)job["status"]!["plan"]![0]!["node"]);
        var cluster = await client.GetFromJsonAsync<JsonObject>("/api/cluster");
        Assert.Equal(id, (string?)cluster!["nodes"]![0]!["devices"]![0]!["job"]);

        var loads = await client.GetFromJsonAsync<JsonArray>($"/api/jobs/{id}/expert-load?from=1&to=1");
        Assert.Equal(8, loads![0]!["loads"]!.AsArray().Count);
        Assert.Equal(8, loads[0]!["biases"]!.AsArray().Count);
        // Each token goes to top-k = 2 experts: the loads of a step sum to 2 × tokens (2 sequences × 32).
        Assert.Equal(2 * 2 * 32, loads[0]!["loads"]!.AsArray().Sum(l => (long)l!));
        var metrics = await client.GetFromJsonAsync<JsonObject>($"/api/jobs/{id}/metrics");
        Assert.True(metrics!["series"]!["loss"]!.AsArray().Count >= 2);

        // Checkpoints (every 2 steps) are listed, and a new job starts from one; a step without one is a 404.
        JsonArray? checkpoints = null;
        for (var i = 0; i < 120 && (checkpoints is null || checkpoints.Count == 0); i++)
        {
            await Task.Delay(250);
            checkpoints = await client.GetFromJsonAsync<JsonArray>($"/api/jobs/{id}/checkpoints");
        }

        using var cancelled = await client.PostAsync($"/api/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("Cancelled", (string?)(await cancelled.Content.ReadFromJsonAsync<JsonObject>())!["phase"]);
        var events = (await client.GetFromJsonAsync<JsonArray>($"/api/jobs/{id}/events"))!.Select(e => (string)e!["kind"]!).ToList();
        Assert.Equal(["submitted", "planned", "started"], events.Take(3));
        Assert.Contains("checkpoint-committed", events);
        Assert.Contains("cancelled", events);

        // Retention keeps the newest: restore from the last one listed once the job has stopped and a write
        // in flight at the cancel has committed (its commit can expire an older checkpoint).
        checkpoints = await client.GetFromJsonAsync<JsonArray>($"/api/jobs/{id}/checkpoints");
        for (var i = 0; i < 40; i++)
        {
            await Task.Delay(250);
            var again = await client.GetFromJsonAsync<JsonArray>($"/api/jobs/{id}/checkpoints");
            if (again!.ToJsonString() == checkpoints!.ToJsonString()) break;
            checkpoints = again;
        }
        var step = (long)checkpoints![^1]!["step"]!;
        using (var missing = await client.PostAsJsonAsync($"/api/jobs/{id}/restore", new { step = step + 1 }))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("step", (string?)(await missing.Content.ReadFromJsonAsync<JsonObject>())!["field"]);
        }

        using var restored = await client.PostAsJsonAsync($"/api/jobs/{id}/restore", new { step, id = id + "-r" });
        Assert.True(restored.StatusCode == HttpStatusCode.Created, await restored.Content.ReadAsStringAsync());
        var detail = await client.GetFromJsonAsync<JsonObject>($"/api/jobs/{id}-r");
        Assert.Equal(step, (long)detail!["spec"]!["resume_from"]!["step"]!);
        using var cancelRestored = await client.PostAsync($"/api/jobs/{id}-r/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelRestored.StatusCode);
    }

    [Fact]
    public async Task UnknownJobs_Are404_NamingTheId()
    {
        using var client = silo.Client();
        foreach (var path in new[] { "/api/jobs/no-such-job", "/api/jobs/no-such-job/events", "/api/jobs/NOT%20AN%20ID/metrics", "/api/jobs/no-such-job/expert-load" })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("id", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["field"]);
        }
    }

    [Fact]
    public async Task ACookieSession_NeedsTheAntiforgeryToken_ForEveryChange()
    {
        var cookies = new CookieContainer();
        using var browser = silo.Client(authenticated: false, cookies);
        var loginPage = await browser.GetStringAsync("/login");
        var csrf = HiddenValue(loginPage, "__csrf");

        // Logging in without the form's token is refused, with it accepted.
        using (var forged = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = silo.Token })))
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using (var wrong = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "wrong", ["__csrf"] = csrf })))
            Assert.Contains("failed=1", wrong.Headers.Location!.OriginalString, StringComparison.Ordinal);
        using (var login = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = silo.Token, ["__csrf"] = csrf })))
        {
            Assert.Equal(HttpStatusCode.Found, login.StatusCode);
            Assert.Equal("/", login.Headers.Location!.OriginalString);
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/cluster")).StatusCode);
        const string spec = """{"config": "tiny", "data": "/d", "steps": 10}""";
        using (var noToken = await browser.PostAsync("/api/jobs/validate", new StringContent(spec, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
            Assert.Equal("X-CSRF-TOKEN", (string?)(await noToken.Content.ReadFromJsonAsync<JsonObject>())!["field"]);
        }

        var page = await browser.GetStringAsync("/submit");
        foreach (var path in new[] { "/", "/submit", "/jobs/x", "/login", "/api/configs", "/openapi/v1.json" })
            Assert.DoesNotContain(silo.Token, await browser.GetStringAsync(path), StringComparison.Ordinal);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/validate") { Content = new StringContent(spec, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-CSRF-TOKEN", MetaContent(page, "csrf-token"));
        using var withToken = await browser.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, withToken.StatusCode);
        Assert.Equal(10, (long)(await withToken.Content.ReadFromJsonAsync<JsonObject>())!["steps"]!);
    }

    private static string HiddenValue(string html, string name) => Attribute(html, $"name=\"{name}\" value=\"");

    private static string MetaContent(string html, string name) => Attribute(html, $"name=\"{name}\" content=\"");

    private static string Attribute(string html, string prefix)
    {
        var start = html.IndexOf(prefix, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {prefix} in the page");
        start += prefix.Length;
        return WebUtility.HtmlDecode(html[start..html.IndexOf('"', start)]);
    }
}
