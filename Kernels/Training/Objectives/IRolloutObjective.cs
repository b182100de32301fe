using Orchestrator.Kernels.Model;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// An objective whose data the policy makes each step (reinforcement learning): the trainer asks it for the step's
/// rollouts before the step's first pass (<see cref="BeginStep"/>, sampled from the model as it is), runs
/// <see cref="Passes"/> optimizer updates over them (each pass every micro-batch, the gradient sync, the clip, AdamW)
/// and then ends the step (<see cref="EndStep"/>). The routing biases are not updated: the tokens are the policy's own.
/// </summary>
public interface IRolloutObjective
{
    /// <summary>Optimizer updates per batch of rollouts.</summary>
    int Passes { get; }

    /// <summary>Samples 0-based <paramref name="step"/>'s rollouts from <paramref name="policy"/> (every rank of an expert-parallel model together).</summary>
    void BeginStep(DeepSeekModel policy, long step);

    /// <summary>Tokens trained on this step (the rollouts' completion tokens on this rank).</summary>
    long StepTokens { get; }

    /// <summary>Ends the step: what it reports is kept, its rollouts released.</summary>
    void EndStep();
}
