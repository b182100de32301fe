namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>The test's exposition parser reads what the format allows and refuses what it does not.</summary>
public sealed class PrometheusTextTests
{
    [Fact]
    public void Parse_ReadsNamesLabelsEscapesAndSpecialValues_SkippingComments()
    {
        var samples = PrometheusText.Parse("""
            # HELP a_total A counter.
            # TYPE a_total counter
            a_total{job="j-1",path="C:\\x",quote="say \"hi\""} 3 1700000000000
            b_bucket{le="+Inf"} 4
            c NaN
            d{} -1.5e3

            """);

        Assert.Equal(["a_total", "b_bucket", "c", "d"], samples.Select(s => s.Name));
        Assert.Equal("j-1", samples[0].Label("job"));
        Assert.Equal(@"C:\x", samples[0].Label("path"));
        Assert.Equal("say \"hi\"", samples[0].Label("quote"));
        Assert.Equal(3, samples[0].Value);
        Assert.Equal("+Inf", samples[1].Label("le"));
        Assert.True(double.IsNaN(samples[2].Value));
        Assert.Equal(-1500, samples[3].Value);
    }

    [Theory]
    [InlineData("a{job=\"x} 1")]
    [InlineData("a{job=x} 1")]
    [InlineData("a one")]
    [InlineData("{job=\"x\"} 1")]
    public void Parse_RefusesALineThatIsNoSample_NamingIt(string line)
    {
        var error = Assert.Throws<FormatException>(() => PrometheusText.Parse("# TYPE a gauge\n" + line));

        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
    }
}
