using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Distillation into a student: SFT on the teacher's text (masked cross-entropy, mean over response tokens), plus,
/// when the teacher's logits are given, the logit KL with temperature τ, scaled by τ² (Hinton et al.: keeps its
/// gradient's size independent of τ): loss = CE + w · τ² · mean over response tokens of KL(softmax(t/τ) ‖ softmax(s/τ)).
/// </summary>
public static class DistillationLoss
{
    /// <summary>
    /// The loss for student logits [N, V], the teacher text's next tokens [N], <paramref name="mask"/> [N] (1 on response
    /// tokens) and optionally the teacher's logits [N, V] (no gradient flows into them).
    /// </summary>
    public static Tensor Compute(Tensor studentLogits, Tensor targets, Tensor mask, Tensor? teacherLogits = null, double temperature = 1, double klWeight = 1)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the temperature must be greater than 0");
        using var scope = NewDisposeScope();
        var loss = MaskedLoss.CrossEntropyMean(studentLogits, targets, mask);
        if (teacherLogits is not null && klWeight != 0)
        {
            var vocab = studentLogits.shape[^1];
            using var tau = temperature.ToScalar(); // per-job value, held for the call (see Scalars)
            using var scale = (klWeight * temperature * temperature).ToScalar();
            var student = studentLogits.reshape(-1, vocab).div(tau).log_softmax(-1);
            var teacher = teacherLogits.detach().reshape(-1, vocab).div(tau).log_softmax(-1);
            var perToken = teacher.exp().mul(teacher.sub(student)).sum(-1);
            var weights = mask.reshape(-1).to(perToken.dtype);
            var kl = perToken.mul(weights).sum().div(weights.sum().clamp_min(Scalars.One));
            loss = loss.add(kl.mul(scale), Scalars.One);
        }
        return loss.MoveToOuterDisposeScope();
    }
}
