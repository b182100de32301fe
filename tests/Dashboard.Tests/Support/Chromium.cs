using Microsoft.Playwright;

namespace Orchestrator.Dashboard.Tests.Support;

/// <summary>
/// Debian's chromium (<c>/usr/bin/chromium</c>, installed by deploy/test.sh) driven by Playwright's
/// bundled driver; no browser download. One browser per test class, one fresh context per test.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    /// <summary>The browser executable.</summary>
    public const string Executable = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"{Executable} is missing: apt-get install chromium (deploy/test.sh does)");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>
    /// Navigation to a live page counts once its document is parsed: the tests then wait for what they look
    /// for. (Its load event is not waited for: twice in full local runs a page's load did not come within 60 s
    /// while the page itself was live; the pages now open their event streams after load.)
    /// </summary>
    public static readonly PageWaitForURLOptions Arrived = new() { WaitUntil = WaitUntilState.DOMContentLoaded };

    private static readonly PageWaitForURLOptions FirstTry = new() { WaitUntil = WaitUntilState.DOMContentLoaded, Timeout = 20_000 };

    /// <summary>The same for opening a live page directly.</summary>
    public static readonly PageGotoOptions Opened = new() { WaitUntil = WaitUntilState.DOMContentLoaded };

    /// <summary>A new page in a new context (its own cookies), with generous timeouts for a busy machine.</summary>
    public async Task<IPage> NewPageAsync(Uri baseUrl)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        return page;
    }

    /// <summary>Signs in through the login page with <paramref name="token"/>; lands on the cluster page.</summary>
    public static async Task SignInAsync(IPage page, string token)
    {
        await page.GotoAsync("/");
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/login");
        await page.FillAsync("#token", token);
        await page.ClickAsync("button[type=submit]");
        try
        {
            try
            {
                await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/", FirstTry);
            }
            catch (TimeoutException) when (new Uri(page.Url).AbsolutePath == "/login")
            {
                // Seen twice on a loaded two-core machine: the submit was lost and the page stayed on /login.
                // A person would press the button again; so does the test, once.
                await page.FillAsync("#token", token);
                await page.ClickAsync("button[type=submit]");
                await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/", Arrived);
            }
        }
        catch (TimeoutException) when (new Uri(page.Url).AbsolutePath == "/")
        {
            // Seen on a loaded machine: the page reached / (it shows the cluster page) but the wait missed its load event.
            await page.WaitForSelectorAsync("text=Sign out");
        }
        catch (TimeoutException e)
        {
            // Say where the sign-in stopped and what the page said.
            var body = await page.TextContentAsync("body") ?? "";
            throw new TimeoutException($"sign-in did not reach / : the page is {page.Url}, saying: {body.Trim()[..Math.Min(400, body.Trim().Length)]}", e);
        }
    }

    /// <summary>
    /// Runs a browser test's <paramref name="steps"/>; when one fails, writes where the page was and what it
    /// showed to the test's output (CI keeps that, not the screenshots), and a screenshot next to the others.
    /// </summary>
    public static async Task ExplainingFailuresAsync(IPage page, Action<string> output, Func<Task> steps)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(steps);
        try
        {
            await steps();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            try
            {
                var text = await page.EvaluateAsync<string>("() => document.body ? document.body.innerText : ''");
                output($"the failing step left the page at {page.Url}, showing:{Environment.NewLine}{text[..Math.Min(3000, text.Length)]}");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.File($"failed-{DateTime.UtcNow:HHmmss}.png"), FullPage = true });
            }
            catch (PlaywrightException described)
            {
                output($"the page could not be described: {described.Message}");
            }

            throw;
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
