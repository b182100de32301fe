using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;

namespace Orchestrator.Kernels.Tests.Configuration;

public sealed class ParameterCountTests
{
    [Fact]
    public void DeepSeekV3Config_Counts671BTotal_And37BActivated()
    {
        var count = ParameterCount.For(ConfigLoader.LoadFile(RepositoryFiles.Config("deepseek-v3-671b.json")).Model!);

        Assert.InRange(count.Total, 671e9 * 0.99, 671e9 * 1.01);
        // The report's "37B" is a rounded figure; ours (input embedding excluded, as it is a
        // lookup) is 36.63B. Held to the report's own rounding: it must round to 37B.
        Assert.Equal(37, Math.Round(count.Activated / 1e9));
        Assert.InRange(count.Mtp, 11e9, 15e9); // the report: ≈14B more with MTP (11.6B excluding the shared embedding/head)
    }

    [Theory]
    [InlineData("deepseek-v2-236b.json", 236, 21)]
    [InlineData("deepseek-v2-lite-16b.json", 16, 2.4)]
    public void EarlierDeepSeekConfigs_MatchTheirReportedSizes(string file, double totalB, double activatedB)
    {
        var count = ParameterCount.For(ConfigLoader.LoadFile(RepositoryFiles.Config(file)).Model!);

        Assert.InRange(count.Total / 1e9, totalB * 0.98, totalB * 1.02);
        Assert.InRange(count.Activated / 1e9, activatedB * 0.97, activatedB * 1.03);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void AnalyticCount_EqualsTheInstantiatedModel(int mtpDepth)
    {
        Torch.Ready();
        var config = TinyModels.Micro(mtpDepth);
        using var model = new DeepSeekModel(config);
        var instantiated = model.parameters().Sum(p => p.numel());

        var count = ParameterCount.For(config);

        Assert.Equal(count.Total + count.Mtp, instantiated);
    }
}
