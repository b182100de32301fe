namespace Orchestrator.Kernels.Training.Rl;

/// <summary>One GRPO step: the rollouts' rewards and lengths, the loss and what it says about the policy's move.</summary>
/// <param name="Step">Steps done after this one.</param>
/// <param name="Loss">GRPO's loss of the last optimisation pass, averaged over the step's groups.</param>
/// <param name="Accuracy">Mean accuracy reward of the rollouts.</param>
/// <param name="Format">Mean format reward of the rollouts.</param>
/// <param name="CompletionTokens">Mean completion length, tokens.</param>
/// <param name="Kl">Mean k3 KL estimate to the reference over completion tokens (last pass).</param>
/// <param name="ClipFraction">Share of completion tokens whose ratio was clipped (last pass).</param>
/// <param name="GradientNorm">Global gradient norm before clipping (last pass).</param>
/// <param name="RolloutSeconds">Time spent generating the rollouts.</param>
/// <param name="Seconds">The whole step's time.</param>
/// <param name="Samples">The first completion of each group with its reward, for the dashboard's table.</param>
public sealed record GrpoStepReport(long Step, double Loss, double Accuracy, double Format, double CompletionTokens, double Kl,
    double ClipFraction, double GradientNorm, double RolloutSeconds, double Seconds, IReadOnlyList<GrpoSample> Samples)
{
    /// <summary>Mean total reward (accuracy + format).</summary>
    public double Reward => Accuracy + Format;
}

/// <summary>One sampled completion and its reward.</summary>
/// <param name="Prompt">The prompt's index in the prompt set.</param>
/// <param name="Completion">The completion's text.</param>
/// <param name="Reward">Its reward.</param>
public sealed record GrpoSample(int Prompt, string Completion, RolloutReward Reward);
