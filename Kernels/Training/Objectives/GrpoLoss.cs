using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Group Relative Policy Optimization's loss (DeepSeekMath §4.1, R1) for one group of G completions of one prompt, as a
/// pure function of per-token log-probs:
/// <list type="bullet">
/// <item>advantage A_i = (r_i − mean(r)) / (std(r) + eps), std the unbiased (n − 1) one, as TRL computes it;</item>
/// <item>ratio ρ_t = exp(logp_t − old_t); per-token objective min(ρ_t·A_i, clip(ρ_t, 1 − ε, 1 + ε)·A_i);</item>
/// <item>k3 KL estimate against the reference: exp(ref_t − logp_t) − (ref_t − logp_t) − 1 (≥ 0, unbiased);</item>
/// <item>length normalisation: each completion's terms averaged over its own masked-in tokens, then the mean over
/// the group (GRPO's 1/G Σ_i 1/|o_i| Σ_t), so a long completion weighs as much as a short one;</item>
/// <item>loss = −(1/G) Σ_i (1/|o_i|) Σ_t mask·(objective_t − β·KL_t).</item>
/// </list>
/// </summary>
public static class GrpoLoss
{
    /// <summary>The group-normalised advantages of <paramref name="rewards"/> (at least two).</summary>
    public static double[] Advantages(IReadOnlyList<double> rewards, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        if (rewards.Count < 2) throw new ArgumentException("a group has at least two completions", nameof(rewards));
        var mean = rewards.Average();
        var std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / (rewards.Count - 1));
        return rewards.Select(r => (r - mean) / (std + epsilon)).ToArray();
    }

    /// <summary>
    /// The loss (grad through <paramref name="logProbs"/> only) and its diagnostics for log-probs [G, T] of the sampled
    /// tokens under the current policy, the policy that sampled them (<paramref name="oldLogProbs"/>) and the frozen
    /// reference, <paramref name="mask"/> [G, T] (1 on completion tokens) and the group's rewards [G].
    /// </summary>
    public static GrpoLossResult Compute(Tensor logProbs, Tensor oldLogProbs, Tensor refLogProbs, Tensor mask, IReadOnlyList<double> rewards, GrpoSettings settings)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(oldLogProbs);
        ArgumentNullException.ThrowIfNull(refLogProbs);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(settings);
        if (logProbs.shape[0] != rewards.Count) throw new ArgumentException($"{logProbs.shape[0]} completions but {rewards.Count} rewards", nameof(rewards));
        using var scope = NewDisposeScope();
        var advantages = tensor(Advantages(rewards, settings.AdvantageEpsilon), dtype: logProbs.dtype, device: logProbs.device).unsqueeze(1);
        var weights = mask.to(logProbs.dtype);
        var ratio = logProbs.sub(oldLogProbs.detach()).exp();
        var clipped = ratio.clamp(Scalars.Of(1 - settings.Clip), Scalars.Of(1 + settings.Clip));
        var objective = minimum(ratio.mul(advantages), clipped.mul(advantages));
        var toRef = refLogProbs.detach().sub(logProbs);
        var kl = toRef.exp().sub(toRef).sub(Scalars.One);
        var perToken = objective.sub(kl.mul(Scalars.Of(settings.KlCoefficient)));
        var tokens = weights.sum(1).clamp_min(Scalars.One);
        var perCompletion = perToken.mul(weights).sum(1).div(tokens);
        var loss = perCompletion.mean().neg();

        using var noGrad = no_grad();
        var masked = weights.sum().clamp_min(Scalars.One);
        var outside = ratio.lt(Scalars.Of(1 - settings.Clip)).logical_or(ratio.gt(Scalars.Of(1 + settings.Clip))).to(weights.dtype);
        var clipFraction = outside.mul(weights).sum().div(masked).to(ScalarType.Float64).item<double>(); // any float dtype
        var meanKl = kl.mul(weights).sum().div(masked).to(ScalarType.Float64).item<double>();
        return new GrpoLossResult(loss.MoveToOuterDisposeScope(), clipFraction, meanKl);
    }
}

/// <summary>GRPO's loss and what the dashboard shows of it.</summary>
/// <param name="Loss">The scalar loss to minimise.</param>
/// <param name="ClipFraction">Share of completion tokens whose ratio lies outside [1 − ε, 1 + ε].</param>
/// <param name="MeanKl">The k3 KL estimate to the reference, averaged over completion tokens.</param>
public sealed record GrpoLossResult(Tensor Loss, double ClipFraction, double MeanKl) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Loss.Dispose();
}
