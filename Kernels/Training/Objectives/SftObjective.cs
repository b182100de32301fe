using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Supervised fine-tuning on packed rows: the main model's next-token cross-entropy on response tokens only (prompt
/// tokens and padding masked out exactly), averaged over the micro-batch's response tokens, plus the balance loss.
/// Attention and RoPE positions stay within each packed example (<see cref="SequenceLayout"/>). The MTP modules are
/// not trained here: their weights carry over from the parent checkpoint unchanged.
/// </summary>
public sealed class SftObjective(PackedSftSource data) : ITrainingObjective
{
    private readonly long[] _tokens = new long[data.MicroBatchSize * data.RowLength];
    private readonly float[] _mask = new float[data.MicroBatchSize * (data.RowLength - 1)];
    private readonly long[] _documents = new long[data.MicroBatchSize * (data.RowLength - 1)];
    private readonly long[] _positions = new long[data.MicroBatchSize * (data.RowLength - 1)];

    /// <inheritdoc />
    public string Name => "sft";

    /// <inheritdoc />
    public int VocabSize => data.VocabSize;

    /// <summary>Response tokens the last micro-batch's loss was taken on.</summary>
    public long LastLossTokens { get; private set; }

    /// <inheritdoc />
    public ModelLoss Loss(DeepSeekModel model, long step, int microStep, RoutingRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(recorder);
        using var scope = NewDisposeScope();
        data.Fill(step, microStep, _tokens, _mask, _documents, _positions);
        int rows = data.MicroBatchSize, inputs = data.RowLength - 1;
        var device = model.Device;
        var tokens = tensor(_tokens, [rows, data.RowLength], ScalarType.Int64, device: device);
        var mask = tensor(_mask, [rows, inputs], ScalarType.Float32, device: device);
        using var layout = SequenceLayout.FromDocuments(_documents, _positions, rows, inputs, device);
        var logits = model.TrainingLogits(tokens.narrow(1, 0, inputs), recorder, layout);
        var main = MaskedLoss.CrossEntropyMean(logits, tokens.narrow(1, 1, inputs), mask);
        LastLossTokens = (long)_mask.Sum();
        var balance = recorder.TakeBalanceLoss();
        var total = main.add(balance, Scalars.One);
        return new ModelLoss(total.MoveToOuterDisposeScope(), main.MoveToOuterDisposeScope(), [], balance.MoveToOuterDisposeScope());
    }
}
