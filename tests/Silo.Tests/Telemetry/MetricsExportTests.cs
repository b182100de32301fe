using Orchestrator.Silo.Telemetry;
using Orchestrator.Silo.Tests.Cli;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>The metrics options: usable values accepted, bad ones refused naming the option, on the command line and in the environment.</summary>
public sealed class MetricsExportTests
{
    [Fact]
    public void NoOption_ExportsNothing()
    {
        var export = MetricsExport.From(null, null);

        Assert.False(export.Enabled);
        Assert.Null(export.ScrapeUrl);
    }

    [Fact]
    public void AMetricsPort_ServesScrapesOnLoopback_UnlessTheSiloListensElsewhere()
    {
        var local = MetricsExport.From(9464, null);
        var loopback = MetricsExport.From(9464, null, "127.0.0.1");
        var anywhere = MetricsExport.From(9464, null, "10.0.0.11");

        Assert.True(local.Enabled);
        Assert.Equal("http://127.0.0.1:9464/metrics", local.ScrapeUrl);
        Assert.Equal("127.0.0.1", local.ListenHost);
        Assert.Equal("127.0.0.1", loopback.ListenHost);
        Assert.Equal("+", anywhere.ListenHost);
    }

    [Fact]
    public void AnOtlpEndpoint_AloneEnablesTheExport()
    {
        var export = MetricsExport.From(null, "http://collector:4317");

        Assert.True(export.Enabled);
        Assert.Equal(new Uri("http://collector:4317"), export.OtlpEndpoint);
        Assert.Null(export.ScrapeUrl);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void APortOutOfRange_IsRefused_NamingTheOption(int port)
    {
        var error = Assert.Throws<ArgumentException>(() => MetricsExport.From(port, null));

        Assert.StartsWith("--metrics-port:", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{port}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("collector:4317")]
    [InlineData("ftp://collector:4317")]
    [InlineData("not a url")]
    [InlineData("/v1/metrics")]
    public void AMalformedOtlpEndpoint_IsRefused_NamingTheOption(string endpoint)
    {
        var error = Assert.Throws<ArgumentException>(() => MetricsExport.From(null, endpoint));

        Assert.StartsWith("--otlp-endpoint:", error.Message, StringComparison.Ordinal);
        Assert.Contains(endpoint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silo_WithAPortOutOfRange_SaysWhichOption_AndExitsWith2_BeforeTouchingTheDatabase()
    {
        var result = await CliProcess.Run("silo", "--node", "n1", "--devices", "cpu:1", "--postgres", "Host=127.0.0.1;Port=1", "--metrics-port", "70000");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--metrics-port: 70000 is not a TCP port", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silo_WithABadPortInTheEnvironment_SaysWhichOption_AndExitsWith2()
    {
        var result = await CliProcess.RunWith(new Dictionary<string, string> { ["ORCHESTRATOR__METRICSPORT"] = "0" },
            "silo", "--node", "n1", "--devices", "cpu:1", "--postgres", "Host=127.0.0.1;Port=1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--metrics-port: 0 is not a TCP port", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_WithAMalformedOtlpEndpoint_SaysWhichOption_AndExitsWith2()
    {
        var dir = Directory.CreateTempSubdirectory("orchestrator-metrics-options-").FullName;
        try
        {
            var result = await CliProcess.Run("demo", "--otlp-endpoint", "collector:4317", "--no-dashboard", "--work-dir", dir);

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("--otlp-endpoint: 'collector:4317'", result.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
