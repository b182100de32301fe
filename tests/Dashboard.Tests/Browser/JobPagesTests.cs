using System.Globalization;
using Microsoft.Playwright;
using Orchestrator.Dashboard.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Dashboard.Tests.Browser;

/// <summary>The dashboard in a real browser against a real silo: sign in, submit through the form, watch the job train, see refusals next to their field.</summary>
[Collection(SiloCollection.Name)]
public sealed class JobPagesTests(DashboardSilo silo, Chromium chromium, ITestOutputHelper output) : IClassFixture<Chromium>
{
    private const string LossPoints = "() => echarts.getInstanceByDom(document.getElementById('loss-chart'))?.getOption().series[0].data.length ?? 0";

    [Fact]
    public async Task SignIn_SubmitThroughTheForm_WatchStepAndLossAdvance_ThenCancel()
    {
        var page = await chromium.NewPageAsync(silo.BaseUrl);
        await Chromium.ExplainingFailuresAsync(page, output.WriteLine, async () =>
        {
            await Chromium.SignInAsync(page, silo.Token);
            await page.WaitForSelectorAsync("#node-local[data-alive=true]");

            await page.ClickAsync("a[data-nav=submit]");
            await page.WaitForSelectorAsync("#config option[value=tiny]", new() { State = WaitForSelectorState.Attached });
            Assert.Equal(silo.Data, await page.InputValueAsync("#data"));
            var id = "browser-" + Guid.NewGuid().ToString("N")[..6];
            await page.FillAsync("#id", id);
            await page.SelectOptionAsync("#config", "tiny");
            await page.FillAsync("#training", """{"threads": 1, "seq_len": 64, "micro_batch_size": 4}""");
            await page.FillAsync("#steps", "5000");
            await page.FillAsync("#checkpoint-every", "25");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("submit.png"), FullPage = true });
            await page.ClickAsync("#submit");
            await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == $"/jobs/{id}", Chromium.Arrived);

            // The step counter and the loss chart advance without a reload.
            await page.WaitForFunctionAsync("() => Number(document.getElementById('step').textContent) >= 3");
            await page.WaitForFunctionAsync($"() => ({LossPoints})() >= 3");
            var step = await StepAsync(page);
            var points = await page.EvaluateAsync<int>($"({LossPoints})()");
            await page.WaitForFunctionAsync($"() => Number(document.getElementById('step').textContent) >= {step + 3}");
            await page.WaitForFunctionAsync($"() => ({LossPoints})() > {points}");
            Assert.Equal("Running", await page.TextContentAsync("#phase"));
            Assert.Equal("live", await page.TextContentAsync("#live"));

            // The heatmap has a row per expert of the tiny config, the plan the rank, the timeline the history.
            await page.WaitForFunctionAsync("() => echarts.getInstanceByDom(document.getElementById('heatmap'))?.getOption().yAxis[0].data.length === 64");
            Assert.Equal("local", await page.TextContentAsync("#plan tbody tr td:nth-child(4)"));
            await page.WaitForSelectorAsync("#timeline li[data-kind=started]");
            await page.WaitForFunctionAsync("() => Number(document.getElementById('step').textContent) >= 30");
            await page.WaitForSelectorAsync("#checkpoints tr[data-step='25']");
            await page.EvaluateAsync("() => new Promise(done => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(done)), 700))");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("job.png"), FullPage = true });

            await page.ClickAsync("a[data-nav=cluster]");
            await page.WaitForSelectorAsync($"#node-local .device.used >> text={id}");
            await page.WaitForSelectorAsync($"#jobs tr[data-job='{id}']");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("cluster.png"), FullPage = true });

            await page.GotoAsync($"/jobs/{id}", Chromium.Opened);
            page.Dialog += (_, dialog) => dialog.AcceptAsync();
            await page.ClickAsync("#cancel");
            await page.WaitForFunctionAsync("() => document.getElementById('phase').textContent === 'Cancelled'");
            await page.WaitForSelectorAsync("#timeline li[data-kind=cancelled]");

            // Restore: a new job from the checkpoint at step 25 goes on from there.
            await page.ClickAsync("#checkpoints tr[data-step='25'] button.restore");
            await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == $"/jobs/{id}-from-25", Chromium.Arrived);
            await page.WaitForFunctionAsync("() => Number(document.getElementById('step').textContent) >= 27");
            await page.WaitForFunctionAsync($"() => ({LossPoints})() >= 2");
            var first = await page.EvaluateAsync<double>("() => echarts.getInstanceByDom(document.getElementById('loss-chart')).getOption().series[0].data[0][0]");
            Assert.Equal(26, first);
            await page.ClickAsync("#cancel");
            await page.WaitForFunctionAsync("() => document.getElementById('phase').textContent === 'Cancelled'");
        });
    }

    [Fact]
    public async Task ARefusedSpec_ShowsItsMessageNextToTheField_AndRecordsNothing()
    {
        var before = (await silo.Store.ListJobsAsync()).Count;
        var page = await chromium.NewPageAsync(silo.BaseUrl);
        await Chromium.SignInAsync(page, silo.Token);
        await page.GotoAsync("/submit");
        await page.WaitForSelectorAsync("#config option[value=tiny]", new() { State = WaitForSelectorState.Attached });

        await page.FillAsync("#ep", "3");
        await page.ClickAsync("#submit");
        var ep = page.Locator("[data-error-for='parallel.ep']");
        await Assertions.Expect(ep).ToContainTextAsync("cannot be split evenly over 3 EP ranks");
        Assert.Contains("invalid", await page.GetAttributeAsync("#ep", "class") ?? "", StringComparison.Ordinal);
        Assert.Equal("", await page.TextContentAsync("[data-error-for=steps]"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("submit-refused.png"), FullPage = true });

        await page.FillAsync("#ep", "1");
        await page.FillAsync("#steps", "abc");
        await page.ClickAsync("#submit");
        await Assertions.Expect(page.Locator("[data-error-for=steps]")).ToContainTextAsync("must be a whole number");
        await Assertions.Expect(ep).ToBeEmptyAsync();

        await page.FillAsync("#steps", "10");
        await page.FillAsync("#training", """{"lr": -1}""");
        await page.ClickAsync("#submit");
        await Assertions.Expect(page.Locator("[data-error-for=training]")).ToContainTextAsync("must be greater than 0");

        Assert.Equal("/submit", new Uri(page.Url).AbsolutePath);
        Assert.Equal(before, (await silo.Store.ListJobsAsync()).Count);
    }

    [Fact]
    public async Task TheOrleansDashboard_IsServedUnderOrleans_ToASignedInUser()
    {
        var page = await chromium.NewPageAsync(silo.BaseUrl);
        var failed = new List<string>();
        var served = new List<string>();
        page.Response += (_, response) =>
        {
            var path = new Uri(response.Url).AbsolutePath;
            if (!path.StartsWith("/orleans", StringComparison.Ordinal)) return;
            (response.Status >= 400 ? failed : served).Add($"{response.Status} {path}");
        };
        await page.GotoAsync("/orleans/");
        Assert.Equal("/login", new Uri(page.Url).AbsolutePath);

        await Chromium.SignInAsync(page, silo.Token);
        await page.GotoAsync("/orleans/");
        await page.WaitForFunctionAsync("() => document.body.innerText.includes('Silo')");
        await page.WaitForTimeoutAsync(1500);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File("orleans.png") });
        Assert.Empty(failed);
        Assert.Contains(served, r => r.EndsWith("/orleans/DashboardCounters", StringComparison.Ordinal));
    }

    private static async Task<long> StepAsync(IPage page) =>
        long.Parse((await page.TextContentAsync("#step"))!, CultureInfo.InvariantCulture);
}
