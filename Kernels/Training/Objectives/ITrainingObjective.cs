using Orchestrator.Kernels.Model;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// What the trainer minimises: the loss of one micro-batch, read from the objective's own data as a pure function of
/// (step, micro-step), so a resumed run computes what the uninterrupted one would. The trainer owns the rest of the
/// step (accumulation, gradient sync, clipping, AdamW, the bias update).
/// </summary>
public interface ITrainingObjective
{
    /// <summary>The job kind's name for it (<c>pretrain</c>, <c>sft</c>).</summary>
    string Name { get; }

    /// <summary>Vocabulary size of the tokens served; the model's vocab_size must cover it.</summary>
    int VocabSize { get; }

    /// <summary>The loss of micro-batch <paramref name="microStep"/> of <paramref name="step"/> (grad on Total), on the model's device.</summary>
    ModelLoss Loss(DeepSeekModel model, long step, int microStep, RoutingRecorder recorder);
}
