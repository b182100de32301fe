using System.Text.RegularExpressions;
using Orchestrator.Dashboard.Security;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>The dashboard from the command line: tokens, the demo's URL, a silo refusing a dashboard nobody can sign in to.</summary>
public sealed partial class DashboardCliTests
{
    [GeneratedRegex(@"^token: (?<token>\S+)\r?\nhash:  (?<hash>sha256:[0-9a-f]{64})\r?$", RegexOptions.Multiline)]
    private static partial Regex TokenLines();

    [Fact]
    public async Task DashboardToken_PrintsANewTokenAndItsHash()
    {
        var first = await CliProcess.Run("dashboard-token");
        var second = await CliProcess.Run("dashboard-token");
        Assert.Equal(0, first.ExitCode);
        var a = TokenLines().Match(first.Output);
        var b = TokenLines().Match(second.Output);
        Assert.True(a.Success, first.All);
        Assert.Equal(ApiTokens.Hash(a.Groups["token"].Value), a.Groups["hash"].Value);
        Assert.NotEqual(a.Groups["token"].Value, b.Groups["token"].Value);
    }

    [Fact]
    public async Task Silo_WithADashboardButNoTokenHash_RefusesToStart_NamingTheSetting()
    {
        var result = await CliProcess.Run("silo", "--node", "n1", "--devices", "cpu:1", "--postgres", "Host=127.0.0.1;Port=1;Username=x;Password=secret-pw", "--dashboard-port", "5999");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("DashboardTokenHashes", result.All, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_PrintsTheDashboardUrlAndItsToken()
    {
        var work = Directory.CreateTempSubdirectory("orchestrator-demo-dashboard-").FullName;
        try
        {
            var result = await CliProcess.Run(TimeSpan.FromMinutes(3), "demo", "--steps", "2", "--seconds", "60", "--work-dir", work);
            Assert.True(result.ExitCode == 0, result.All);
            Assert.Matches(@"Dashboard: http://127\.0\.0\.1:\d+/  \(sign in with the token [A-Za-z0-9_-]{43};", result.Output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
