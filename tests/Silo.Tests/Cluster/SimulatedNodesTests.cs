using Orchestrator.Silo.Cluster;

namespace Orchestrator.Silo.Tests.Cluster;

/// <summary>The command-line side of scale runs: <c>--devices sim:N</c> and <c>--nodes K</c>.</summary>
public sealed class SimulatedNodesTests
{
    [Fact]
    public void SimDevices_AreNSlots_LikeCpu()
    {
        Assert.Equal(["sim:0", "sim:1", "sim:2"], DeviceList.Parse("sim:3"));
        Assert.Equal(["cpu:0"], DeviceList.Parse("cpu:1"));
    }

    [Theory]
    [InlineData("sim:0")]
    [InlineData("sim:")]
    [InlineData("sim:2000")]
    [InlineData("simulated:4")]
    public void BadSimDevices_AreRefused_SayingWhatIsExpected(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => DeviceList.Parse(text));

        Assert.Contains("sim:N", error.Message, StringComparison.Ordinal);
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nodes_CountUpFromTheFirstName()
    {
        Assert.Equal(["n9", "n10", "n11", "n12"], NodeNames.From("n9", 4));
        Assert.Equal(["rack2-node7"], NodeNames.From("rack2-node7", 1));
        Assert.Equal(["rack2-node7", "rack2-node8"], NodeNames.From("rack2-node7", 2));
    }

    [Theory]
    [InlineData("gpu-box", 2, "must end in a number")]
    [InlineData("n1", 0, "is not from 1 to 256")]
    [InlineData("n1", 257, "is not from 1 to 256")]
    public void BadNodeRanges_AreRefused_NamingTheOption(string first, int count, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => NodeNames.From(first, count));

        Assert.Contains("--node", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
