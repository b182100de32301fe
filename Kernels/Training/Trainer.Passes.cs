using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// One optimizer update of a step: every micro-batch's loss and backward, the gradient sync, the clip and AdamW (or,
/// for a non-finite step under <see cref="NonFiniteSteps.Skip"/>, nothing applied). A step makes one; a step of an RL
/// objective (<see cref="Objectives.IRolloutObjective"/>) one per pass over its rollouts.
/// </summary>
public sealed partial class Trainer
{
    private PassResult RunPass(Func<bool>? goOn)
    {
        var accumulation = _training.GradientAccumulation;
        double total = 0, main = 0, mtp = 0, balance = 0;
        _model.zero_grad();
        for (var micro = 0; micro < accumulation; micro++)
        {
            using var scope = NewDisposeScope();
            using var loss = Forward(micro);
            var objective = InjectNanAtStep == Step ? loss.Total.mul(Scalars.Of(double.NaN)) : loss.Total; // fault injection only
            var values = (Total: objective.item<float>(), Main: loss.Main.item<float>(),
                Mtp: loss.Mtp.Count == 0 ? 0f : loss.Mtp.Average(t => t.item<float>()), Balance: loss.Balance.item<float>());
            if (OnNonFinite == NonFiniteSteps.Fail)
            {
                CheckFinite(micro, "total loss", values.Total);
                CheckFinite(micro, "main loss", values.Main);
            }
            objective.div(Scalars.Of(accumulation)).backward();
            BackwardTensors.Release(_device); // the custom functions' backward wrappers, now that libtorch holds its own references
            total += values.Total;
            main += values.Main;
            mtp += values.Mtp;
            balance += values.Balance;
        }

        var vote = goOn?.Invoke() ?? true;
        var everyRankGoesOn = vote;
        // Peer snapshots: each rank's state of its previous snapshot rides in the loss all-reduce (no extra round trip).
        var snapshot = SnapshotState?.Invoke() ?? SnapshotSendState.Arrived;
        var snapshots = SnapshotTally.Of(snapshot);
        if (_parallel is not null)
        {
            GradientSync.AverageReplicated(_model, _parallel);
            (total, main, mtp, balance, everyRankGoesOn, snapshots) = GradientSync.MeanOverRanks(_parallel.World, total, main, mtp, balance, vote, snapshot);
        }
        var gradNorm = ClipGradients();
        // Skipping: the loss and the norm are the all-reduced ones (the same on every rank), so every rank decides alike.
        var skipped = OnNonFinite == NonFiniteSteps.Skip && !(double.IsFinite(total) && double.IsFinite(gradNorm));
        if (!double.IsFinite(gradNorm) && !skipped)
        {
            _model.zero_grad();
            throw new NonFiniteLossException(Step, accumulation - 1, "gradient-norm", gradNorm);
        }
        var lr = _schedule.At(Step);
        if (skipped) _model.zero_grad(); // nothing of the pass is applied
        else _optimizer.Step(lr);
        return new PassResult(total, main, mtp, balance, gradNorm, lr, skipped, everyRankGoesOn, snapshots);
    }

    /// <summary>What one update summed over micro-batches (averaged over ranks), its norm and rate, and the ranks' votes.</summary>
    private readonly record struct PassResult(double Total, double Main, double Mtp, double Balance, double GradNorm, double LearningRate,
        bool Skipped, bool EveryRankGoesOn, SnapshotTally Snapshots);
}
