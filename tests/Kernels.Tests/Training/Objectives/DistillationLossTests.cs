using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

public sealed class DistillationLossTests
{
    private static readonly double[,] Student = { { 1, 2, 0 }, { 0, 0, 0 } };
    private static readonly double[,] Teacher = { { 2, 1, 0 }, { 5, 0, 0 } };

    public DistillationLossTests() => Torch.Ready();

    [Fact]
    public void SftOnTeacherText_IsTheMaskedCrossEntropy()
    {
        // Token 1 is masked out; token 0's target is 1: −log softmax(1, 2, 0)[1] = log(e + e² + 1) − 2 = 0.4076060.
        using var loss = DistillationLoss.Compute(tensor(Student, dtype: float64), tensor(new long[] { 1, 0 }), tensor(new double[] { 1, 0 }));
        Assert.Equal(Math.Log(Math.E + Math.E * Math.E + 1) - 2, loss.item<double>(), 12);
        Assert.Equal(0.4076060, loss.item<double>(), 6);
    }

    [Fact]
    public void LogitKl_IsTemperatureSoftenedAndScaledByTauSquared()
    {
        // τ = 2: p_T = softmax(1, 0.5, 0), p_S = softmax(0.5, 1, 0); KL(p_T ‖ p_S) = 0.0996423; loss = CE + 0.5 · 4 · KL.
        using var student = tensor(Student, dtype: float64).requires_grad_();
        using var teacher = tensor(Teacher, dtype: float64).requires_grad_();
        using var loss = DistillationLoss.Compute(student, tensor(new long[] { 1, 0 }), tensor(new double[] { 1, 0 }), teacher, temperature: 2, klWeight: 0.5);
        var pt = Softmax([1, 0.5, 0]); // the teacher's logits over τ
        var ps = Softmax([0.5, 1, 0]); // the student's
        var kl = Enumerable.Range(0, 3).Sum(v => pt[v] * (Math.Log(pt[v]) - Math.Log(ps[v])));
        Assert.Equal(Math.Log(Math.E + Math.E * Math.E + 1) - 2 + 0.5 * 4 * kl, loss.item<double>(), 12);
        Assert.Equal(0.6068905, loss.item<double>(), 6);

        loss.backward();
        Assert.Null(teacher.grad); // the teacher is a target, not trained
        Assert.All(student.grad!.data<double>().ToArray()[3..], g => Assert.Equal(0, g)); // the masked token: no gradient
    }

    private static double[] Softmax(double[] x)
    {
        var e = x.Select(Math.Exp).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }
}
