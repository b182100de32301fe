using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Rl;

/// <summary>
/// The student's objective in the recipe's distillation: packed rows of the teacher's responses (loss on response
/// tokens only, as <see cref="SftObjective"/>), plus — when a teacher model is given — the logit term of
/// <see cref="DistillationLoss"/>: the teacher's logits on the same rows (same packing layout, no gradient).
/// </summary>
internal sealed class StudentDistillObjective : ITrainingObjective
{
    private readonly PackedSftSource _data;
    private readonly DeepSeekModel? _teacher;
    private readonly RoutingRecorder? _teacherRecorder;
    private readonly double _temperature;
    private readonly double _klWeight;
    private readonly long[] _tokens;
    private readonly float[] _mask;
    private readonly long[] _documents;
    private readonly long[] _positions;

    /// <summary>SFT on <paramref name="data"/>; with <paramref name="teacher"/>, the KL to its logits at <paramref name="temperature"/>, weighted <paramref name="klWeight"/>.</summary>
    public StudentDistillObjective(PackedSftSource data, DeepSeekModel? teacher, double temperature, double klWeight)
    {
        (_data, _teacher, _temperature, _klWeight) = (data, teacher, temperature, klWeight);
        _teacherRecorder = teacher?.NewRecorder();
        _tokens = new long[data.MicroBatchSize * data.RowLength];
        _mask = new float[data.MicroBatchSize * (data.RowLength - 1)];
        _documents = new long[_mask.Length];
        _positions = new long[_mask.Length];
    }

    /// <inheritdoc />
    public string Name => _teacher is null ? "distill (sft on teacher text)" : "distill (sft + logit KL)";

    /// <inheritdoc />
    public int VocabSize => _data.VocabSize;

    /// <inheritdoc />
    public ModelLoss Loss(DeepSeekModel model, long step, int microStep, RoutingRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(recorder);
        using var scope = NewDisposeScope();
        _data.Fill(step, microStep, _tokens, _mask, _documents, _positions);
        int rows = _data.MicroBatchSize, inputs = _data.RowLength - 1;
        var device = model.Device;
        var tokens = tensor(_tokens, [rows, _data.RowLength], ScalarType.Int64, device: device);
        var mask = tensor(_mask, [rows, inputs], ScalarType.Float32, device: device);
        using var layout = SequenceLayout.FromDocuments(_documents, _positions, rows, inputs, device);
        var input = tokens.narrow(1, 0, inputs);
        Tensor? teacherLogits = null;
        if (_teacher is not null)
            using (no_grad())
            {
                teacherLogits = _teacher.TrainingLogits(input, _teacherRecorder!, layout);
                _teacherRecorder!.TakeBalanceLoss().Dispose();
            }
        var main = DistillationLoss.Compute(model.TrainingLogits(input, recorder, layout), tokens.narrow(1, 1, inputs), mask, teacherLogits, _temperature, _klWeight);
        var balance = recorder.TakeBalanceLoss();
        var total = main.add(balance, Scalars.One);
        return new ModelLoss(total.MoveToOuterDisposeScope(), main.MoveToOuterDisposeScope(), [], balance.MoveToOuterDisposeScope());
    }
}
