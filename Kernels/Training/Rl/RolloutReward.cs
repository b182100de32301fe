namespace Orchestrator.Kernels.Training.Rl;

/// <summary>The rule-based reward of one completion, in its two parts (DeepSeek-R1: accuracy and format).</summary>
/// <param name="Accuracy">The verifier's verdict (1 right, 0 wrong, for the arithmetic task).</param>
/// <param name="Format">Whether the completion keeps the format (1 or 0 for R1's tags).</param>
public readonly record struct RolloutReward(double Accuracy, double Format)
{
    /// <summary>The reward GRPO's advantages are computed from: accuracy + format.</summary>
    public double Total => Accuracy + Format;
}

/// <summary>Scores a completion of prompt <paramref name="prompt"/> (its index in the trainer's prompt set).</summary>
public delegate RolloutReward RewardFunction(int prompt, string completion);
