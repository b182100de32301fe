using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Model;

public sealed class ExpertRouterTests
{
    public ExpertRouterTests() => Torch.Ready();

    private static readonly Orchestrator.Kernels.Configuration.ModelConfig Config = TinyModels.Micro() with
    {
        RoutedExperts = 16, ActivatedExperts = 4, ExpertGroups = 4, LimitedGroups = 2, RouteScale = 2.5,
    };

    [Fact]
    public void Bias_ChangesTheChoice_ButNotTheGateValues()
    {
        manual_seed(1);
        var router = new ExpertRouter(Config with { LimitedGroups = 4 });
        using var logits = randn(64, 16);
        using var noBias = router.Route(logits, zeros(16));
        var bias = zeros(16);
        bias[5] = 10f; // expert 5 now wins every token's choice
        using var biased = router.Route(logits, bias);

        var before = noBias.Experts.data<long>().ToArray();
        var after = biased.Experts.data<long>().ToArray();
        Assert.NotEqual(before, after);
        Assert.All(Enumerable.Range(0, 64), t => Assert.Contains(5L, after.Skip(t * 4).Take(4)));

        // Gates are the unbiased sigmoid affinities of the chosen experts, normalised, times route_scale.
        using var scores = logits.sigmoid();
        var s = scores.data<float>().ToArray();
        var gates = biased.Gates.data<float>().ToArray();
        for (var t = 0; t < 64; t++)
        {
            var chosen = after.Skip(t * 4).Take(4).ToArray();
            var sum = chosen.Sum(e => (double)s[t * 16 + e]);
            for (var j = 0; j < 4; j++)
                Assert.Equal(s[t * 16 + chosen[j]] / sum * 2.5, gates[t * 4 + j], 5);
        }
    }

    [Fact]
    public void Gates_SumToRouteScale_ForEveryToken()
    {
        manual_seed(2);
        var router = new ExpertRouter(Config);
        using var route = router.Route(randn(200, 16) * 3, randn(16) * 0.1);
        using var sums = route.Gates.sum(-1);
        Assert.All(sums.data<float>().ToArray(), v => Assert.Equal(2.5, v, 5));
    }

    [Fact]
    public void NodeLimitedRouting_NeverUsesMoreGroupsThanAllowed()
    {
        manual_seed(3);
        var router = new ExpertRouter(Config);
        for (var trial = 0; trial < 20; trial++)
        {
            using var route = router.Route(randn(128, 16) * 4, randn(16));
            var experts = route.Experts.data<long>().ToArray();
            for (var t = 0; t < 128; t++)
            {
                var groups = experts.Skip(t * 4).Take(4).Select(e => e / 4).Distinct().Count();
                Assert.InRange(groups, 1, 2);
            }
        }
    }

    [Fact]
    public void NodeLimitedRouting_PicksGroupsByTheirTopAffinities()
    {
        var router = new ExpertRouter(Config with { LimitedGroups = 1, ActivatedExperts = 2 });
        // Group 0 holds the single best expert, group 3 the best pair: with k/M = 2 experts per group
        // counted, group 3 (0.8 + 0.8) beats group 0 (0.95 + 0.0).
        var p = new float[16];
        p[0] = 0.95f; p[12] = 0.8f; p[13] = 0.8f;
        using var logits = tensor(p.Select(v => v <= 0 ? -10f : (float)Math.Log(v / (1 - v))).ToArray()).view(1, 16);
        using var route = router.Route(logits, zeros(16));
        Assert.Equal([12L, 13L], route.Experts.data<long>().ToArray().Order());
    }

    [Fact]
    public void Loads_CountEveryChoiceOnce()
    {
        var router = new ExpertRouter(Config);
        using var experts = tensor(new long[] { 0, 1, 2, 3, 0, 1, 2, 15 }).view(2, 4);
        using var loads = router.Loads(experts);
        var l = loads.data<long>().ToArray();
        Assert.Equal(16, l.Length);
        Assert.Equal(2, l[0]);
        Assert.Equal(1, l[15]);
        Assert.Equal(8, l.Sum());
    }

    [Fact]
    public void BalanceLoss_MatchesTheSequenceWiseFormula()
    {
        manual_seed(4);
        const int sequences = 3, length = 5, experts = 16, k = 4;
        const double alpha = 0.01;
        var router = new ExpertRouter(Config with { LimitedGroups = 4 });
        using var route = router.Route(randn(sequences * length, experts), zeros(experts));
        using var loss = router.BalanceLoss(route, sequences, length, alpha);

        var s = route.Scores.data<float>().ToArray();
        var chosen = route.Experts.data<long>().ToArray();
        double expected = 0;
        for (var b = 0; b < sequences; b++)
        {
            var f = new double[experts];
            var p = new double[experts];
            for (var t = 0; t < length; t++)
            {
                var row = (b * length) + t;
                var total = Enumerable.Range(0, experts).Sum(i => (double)s[row * experts + i]);
                for (var i = 0; i < experts; i++) p[i] += s[row * experts + i] / total / length;
                for (var j = 0; j < k; j++) f[chosen[row * k + j]] += (double)experts / (k * length);
            }
            expected += alpha * Enumerable.Range(0, experts).Sum(i => f[i] * p[i]) / sequences;
        }

        Assert.Equal(expected, loss.item<float>(), 6);
    }
}
