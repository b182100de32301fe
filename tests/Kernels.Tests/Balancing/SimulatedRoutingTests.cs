using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Kernels.Tests.Balancing;

public sealed class SimulatedRoutingTests
{
    private static float[][] Zeros(int layers, int experts) => [.. Enumerable.Range(0, layers).Select(_ => new float[experts])];

    [Fact]
    public void Loads_AreTheSameBits_ForTheSameSeedStepAndBiases_AndDifferAcrossSteps()
    {
        var biases = Zeros(3, 16);
        var a = SimulatedRouting.Loads(7, 5, 4096, 4, 16, 1.0, biases);
        var b = SimulatedRouting.Loads(7, 5, 4096, 4, 16, 1.0, biases);
        var c = SimulatedRouting.Loads(7, 6, 4096, 4, 16, 1.0, biases);

        Assert.Equal(a, b);
        Assert.NotEqual(a[0], c[0]);
    }

    [Fact]
    public void Loads_AddUpToTheTokensTimesTopK_WithinTheJitter()
    {
        var loads = SimulatedRouting.Loads(1, 0, 100_000, 8, 256, 1.2, Zeros(2, 256));

        Assert.All(loads, layer => Assert.InRange(layer.Sum(), 0.98 * 800_000, 1.02 * 800_000));
    }

    [Fact]
    public void Skew_MakesSomeExpertsHot_AndZeroSkewIsEven()
    {
        var skewed = SimulatedRouting.Loads(1, 0, 100_000, 8, 64, 1.0, Zeros(1, 64))[0];
        var even = SimulatedRouting.Loads(1, 0, 100_000, 8, 64, 0.0, Zeros(1, 64))[0];

        Assert.True(ExpertBalance.MaxViolation(skewed) > 5, $"MaxVio {ExpertBalance.MaxViolation(skewed)}");
        Assert.True(ExpertBalance.MaxViolation(even) < 0.05, $"MaxVio {ExpertBalance.MaxViolation(even)}");
    }

    [Fact]
    public void Popularity_IsAPerLayerOrder_OfZipfWeights_SummingToOne()
    {
        var layer0 = SimulatedRouting.Popularity(3, 0, 32, 1.0);
        var layer1 = SimulatedRouting.Popularity(3, 1, 32, 1.0);

        Assert.Equal(1.0, layer0.Sum(), 9);
        Assert.All(layer0.Order().Zip(layer1.Order()), w => Assert.Equal(w.First, w.Second, 12)); // the same weights …
        Assert.NotEqual(layer0, layer1);              // … on other experts
        Assert.Equal(32.0, layer0.Max() / layer0.Min(), 6);
    }

    [Fact]
    public void ABias_RaisesItsExpertsShare_AsTheRouterWould()
    {
        var biases = Zeros(1, 8);
        var before = SimulatedRouting.Loads(1, 0, 10_000, 2, 8, 0.5, biases)[0];
        biases[0][3] = 0.02f;
        var after = SimulatedRouting.Loads(1, 0, 10_000, 2, 8, 0.5, biases)[0];

        Assert.True(after[3] > 2 * before[3], $"{before[3]} → {after[3]}");
        Assert.All(Enumerable.Range(0, 8).Where(e => e != 3), e => Assert.True(after[e] < before[e]));
    }

    [Fact]
    public void TheRealBiasUpdates_EvenTheSkewedLoadsOut()
    {
        var biases = Zeros(2, 64);
        double MaxVio(long[][] loads) => loads.Max(l => ExpertBalance.MaxViolation(l));
        var first = MaxVio(SimulatedRouting.Loads(9, 0, 65_536, 8, 64, 1.0, biases));
        long[][] loads = [];
        for (var step = 0; step < 300; step++)
        {
            loads = SimulatedRouting.Loads(9, step, 65_536, 8, 64, 1.0, biases);
            biases = LocalBiasAuthority.Instance.Update(step, loads, 0.001, biases);
        }

        Assert.True(MaxVio(loads) < first / 5, $"MaxVio {first} at step 0, {MaxVio(loads)} at step 300");
    }

    [Fact]
    public void BiasesOfTheWrongWidth_AreRefused_NamingTheLayer()
    {
        float[][] biases = [new float[8], new float[7]];

        var error = Assert.Throws<ArgumentException>(() => SimulatedRouting.Loads(1, 0, 100, 2, 8, 1.0, biases));
        Assert.Contains("layer 1 has 7 biases for 8 experts", error.Message, StringComparison.Ordinal);
    }
}
