using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Distillation on packed rows of the teacher's text: the student's masked cross-entropy on response tokens (as
/// <see cref="SftObjective"/>) plus w · τ² · KL(softmax(teacher/τ) ‖ softmax(student/τ)) over the same response tokens
/// (<see cref="DistillationLoss"/>), the frozen teacher run on the same packed batch with the same layout, without
/// gradient; plus the student's balance loss. Teacher and student share the vocabulary. Owns the teacher model.
/// </summary>
public sealed class DistillObjective : ITrainingObjective, IDisposable
{
    private readonly PackedSftSource _data;
    private readonly DeepSeekModel _teacher;
    private readonly RoutingRecorder _teacherRecorder;
    private readonly double _temperature;
    private readonly double _weight;
    private readonly long[] _tokens;
    private readonly float[] _mask;
    private readonly long[] _documents;
    private readonly long[] _positions;

    /// <summary>The objective over <paramref name="data"/> against <paramref name="teacher"/> (which it disposes), τ and the KL's weight.</summary>
    public DistillObjective(PackedSftSource data, DeepSeekModel teacher, double temperature, double weight)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(teacher);
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the temperature must be greater than 0");
        if (!(weight >= 0)) throw new ArgumentOutOfRangeException(nameof(weight), weight, "the logit weight must be at least 0");
        if (teacher.Config.VocabSize < data.VocabSize)
            throw new ArgumentException($"the teacher's vocab_size ({teacher.Config.VocabSize}) is smaller than the data's vocabulary ({data.VocabSize})", nameof(teacher));
        (_data, _teacher, _temperature, _weight) = (data, teacher, temperature, weight);
        _teacher.eval();
        _teacherRecorder = teacher.NewRecorder();
        _tokens = new long[data.MicroBatchSize * data.RowLength];
        _mask = new float[data.MicroBatchSize * (data.RowLength - 1)];
        _documents = new long[_mask.Length];
        _positions = new long[_mask.Length];
    }

    /// <inheritdoc />
    public string Name => "distill";

    /// <inheritdoc />
    public int VocabSize => _data.VocabSize;

    /// <inheritdoc />
    public ModelLoss Loss(DeepSeekModel model, long step, int microStep, RoutingRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(recorder);
        if (model.Config.VocabSize != _teacher.Config.VocabSize)
            throw new InvalidOperationException($"the student's vocab_size ({model.Config.VocabSize}) is not the teacher's ({_teacher.Config.VocabSize})");
        using var scope = NewDisposeScope();
        _data.Fill(step, microStep, _tokens, _mask, _documents, _positions);
        int rows = _data.MicroBatchSize, inputs = _data.RowLength - 1;
        var device = model.Device;
        var tokens = tensor(_tokens, [rows, _data.RowLength], ScalarType.Int64, device: device);
        var mask = tensor(_mask, [rows, inputs], ScalarType.Float32, device: device);
        using var layout = SequenceLayout.FromDocuments(_documents, _positions, rows, inputs, device);
        var input = tokens.narrow(1, 0, inputs);
        var logits = model.TrainingLogits(input, recorder, layout);
        Tensor teacher;
        using (no_grad())
        {
            teacher = _teacher.TrainingLogits(input.to(_teacher.Device), _teacherRecorder, layout).to(device);
            _teacherRecorder.TakeBalanceLoss().Dispose(); // the teacher is frozen: its routing is not balanced here
            _teacherRecorder.ResetLoads();
        }
        var main = DistillationLoss.Compute(logits, tokens.narrow(1, 1, inputs), mask, teacher, _temperature, _weight);
        var balance = recorder.TakeBalanceLoss();
        var total = main.add(balance, Scalars.One);
        return new ModelLoss(total.MoveToOuterDisposeScope(), main.MoveToOuterDisposeScope(), [], balance.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _teacherRecorder.Dispose();
        _teacher.Dispose();
    }
}
