using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Pretraining: next-token cross-entropy on token windows plus λ·MTP and the balance loss (<see cref="DeepSeekModel.Loss"/>),
/// the windows of seq_len + 1 + mtp_depth tokens filled by an <see cref="IBatchSource"/> — exactly the step the trainer
/// ran before objectives existed, so its bits are unchanged.
/// </summary>
public sealed class PretrainObjective(IBatchSource data, int microBatchSize, int window) : ITrainingObjective
{
    private readonly long[] _buffer = new long[microBatchSize * window];

    /// <inheritdoc />
    public string Name => "pretrain";

    /// <inheritdoc />
    public int VocabSize => data.VocabSize;

    /// <inheritdoc />
    public ModelLoss Loss(DeepSeekModel model, long step, int microStep, RoutingRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(model);
        data.Fill(step, microStep, _buffer);
        using var windows = tensor(_buffer, [microBatchSize, window], ScalarType.Int64, device: model.Device);
        return model.Loss(windows, recorder);
    }
}
