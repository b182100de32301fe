using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

/// <summary>GRPO's loss on a hand-worked group of 4 completions of 2 tokens (completion 2 has 1 token).</summary>
public sealed class GrpoLossTests
{
    private static readonly double[] Rewards = [1, 0, 0, 1];
    private static readonly double[,] LogProbs = { { -1.0, -2.0 }, { -0.5, -1.5 }, { -1.2, -0.7 }, { -0.3, -3.0 } };
    private static readonly double[,] Old = { { -1.0, -2.3 }, { -0.5, -1.0 }, { -1.2, -0.9 }, { -0.6, -3.0 } };
    private static readonly double[,] Reference = { { -1.1, -2.0 }, { -0.4, -1.2 }, { -1.0, -5.0 }, { -0.5, -2.5 } };
    private static readonly double[,] Mask = { { 1, 1 }, { 1, 1 }, { 1, 0 }, { 1, 1 } };
    private static readonly GrpoSettings Settings = new(Clip: 0.2, KlCoefficient: 0.04, AdvantageEpsilon: 1e-4);

    public GrpoLossTests() => Torch.Ready();

    [Fact]
    public void Advantages_AreGroupNormalisedWithTheUnbiasedStd()
    {
        // mean 0.5, std = sqrt((4 · 0.25) / 3) = 0.57735, A = ±0.5 / (0.57735 + 1e-4).
        var advantages = GrpoLoss.Advantages(Rewards, 1e-4);
        Assert.Equal([0.865875, -0.865875, -0.865875, 0.865875], advantages.Select(a => Math.Round(a, 6)));
        Assert.All(GrpoLoss.Advantages([0.5, 0.5, 0.5, 0.5], 1e-4), a => Assert.Equal(0, a)); // equal rewards: no signal
    }

    [Fact]
    public void Loss_MatchesTheFormulaOnTheHandWorkedGroup()
    {
        using var result = Compute(out _);
        // Worked by hand (per-token min(ρA, clip(ρ)A) − β·k3, mean per completion, mean over the group, negated):
        // completion 0's token 1 (ρ = e^0.3, A > 0) and completion 3's token 0 are clipped at 1.2; completion 1's token 1
        // (ρ = e^−0.5, A < 0) at 0.8; completion 2's second token is masked out.
        Assert.Equal(-0.0635900, result.Loss.item<double>(), 6);
        Assert.Equal(Formula(), result.Loss.item<double>(), 10);
        Assert.Equal(3.0 / 7, result.ClipFraction, 10);
    }

    [Fact]
    public void Gradient_PushesUpGoodCompletionsAndDownBadOnes()
    {
        using var result = Compute(out var logProbs);
        result.Loss.backward();
        var grad = logProbs.grad!.data<double>().ToArray(); // row-major [4, 2]
        Assert.True(grad[0] < 0, "an unclipped token of a completion with A > 0: raising its log-prob lowers the loss");
        Assert.True(grad[2] > 0, "an unclipped token of a completion with A < 0: raising its log-prob raises the loss");
        Assert.Equal(0, grad[5]); // masked out: exactly no gradient
        // Clipped (ρ > 1 + ε with A > 0): only the KL term is left, β·(1 − e^(ref − logp)) / (|o| · G).
        Assert.Equal(0.04 * (1 - Math.Exp(-2.0 + 2.0)) / 8, grad[1], 12);
        Assert.Equal(0.04 * (1 - Math.Exp(-0.5 + 0.3)) / 8, grad[6], 12);
        using var unclipped = Compute(out var raw, clip: 10);
        unclipped.Loss.backward();
        Assert.True(raw.grad!.data<double>()[1] < 0, "without the clip the same token is pushed up");
    }

    private static GrpoLossResult Compute(out Tensor logProbs, double clip = 0.2)
    {
        logProbs = tensor(LogProbs, dtype: float64).requires_grad_();
        return GrpoLoss.Compute(logProbs, tensor(Old, dtype: float64), tensor(Reference, dtype: float64), tensor(Mask, dtype: float64),
            Rewards, Settings with { Clip = clip });
    }

    /// <summary>The loss written out term by term, in doubles.</summary>
    private static double Formula()
    {
        var a = GrpoLoss.Advantages(Rewards, Settings.AdvantageEpsilon);
        double total = 0;
        for (var i = 0; i < 4; i++)
        {
            double sum = 0, tokens = 0;
            for (var t = 0; t < 2; t++)
            {
                if (Mask[i, t] == 0) continue;
                var ratio = Math.Exp(LogProbs[i, t] - Old[i, t]);
                var clipped = Math.Clamp(ratio, 1 - Settings.Clip, 1 + Settings.Clip);
                var d = Reference[i, t] - LogProbs[i, t];
                sum += Math.Min(ratio * a[i], clipped * a[i]) - Settings.KlCoefficient * (Math.Exp(d) - d - 1);
                tokens++;
            }
            total += sum / tokens;
        }
        return -total / 4;
    }
}
