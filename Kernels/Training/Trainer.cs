using TorchSharp;
using Orchestrator.Kernels.Native;
using System.Diagnostics;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// Single-process trainer: AdamW, warm-up + cosine, clipping, gradient accumulation, and the
/// aux-loss-free bias update after every step. Every input of a step is a function of the
/// seed and the step number, so a resumed run is bit-identical to an uninterrupted one.
/// </summary>
public sealed partial class Trainer : IShardedTrainer, IDisposable
{
    private readonly RunConfig _run;
    private readonly TrainingConfig _training;
    private readonly ITrainingObjective _objective;
    private readonly DeepSeekModel _model;
    private readonly AdamW _optimizer;
    private readonly RoutingRecorder _recorder;
    private readonly LearningRateSchedule _schedule;
    private readonly BiasUpdateSchedule _biasSchedule;
    private readonly int _window;
    private readonly ExpertParallelism? _parallel;
    private readonly IExpertBiasAuthority _biases;
    private readonly Device _device;

    /// <summary>
    /// Builds the model from the seed. <paramref name="plannedSteps"/> sets the cosine horizon when
    /// decay_steps is 0. With <paramref name="parallel"/> this is one rank of an expert-parallel run:
    /// it holds its share of the routed experts, trains on its data shard, and averages the
    /// replicated (dense) gradients with the other ranks every step. <paramref name="biases"/> decides
    /// the expert biases after each step (default: computed here; every rank computes the same).
    /// The model and every tensor of the step live on <paramref name="device"/>, so ranks of one process can
    /// train on different GPUs; null takes libtorch's process-wide default device once, here (for callers
    /// that set it, such as the GPU benches); nothing later reads it.
    /// </summary>
    public Trainer(ModelConfig model, TrainingConfig training, IBatchSource data, long plannedSteps, ExpertParallelism? parallel = null,
        IExpertBiasAuthority? biases = null, Device? device = null)
        : this(model, training, new PretrainObjective(data, training.MicroBatchSize, training.SequenceLength + 1 + model.MtpDepth),
            plannedSteps, parallel, biases, device)
    {
    }

    /// <summary>
    /// As the pretraining constructor, for any <paramref name="objective"/> (<see cref="PretrainObjective"/>,
    /// <see cref="SftObjective"/>): the objective reads its own data and computes each micro-batch's loss; the step
    /// around it (accumulation, gradient sync, clipping, AdamW, biases) is the same for every kind.
    /// </summary>
    public Trainer(ModelConfig model, TrainingConfig training, ITrainingObjective objective, long plannedSteps, ExpertParallelism? parallel = null,
        IExpertBiasAuthority? biases = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (training.SequenceLength > model.MaxSequenceLength)
            throw new ConfigException("config", [$"training.seq_len: {training.SequenceLength} exceeds model.max_seq_len ({model.MaxSequenceLength})"]);
        if (objective.VocabSize > model.VocabSize)
            throw new ConfigException("config", [$"model.vocab_size: {model.VocabSize} is smaller than the data's vocabulary ({objective.VocabSize})"]);

        _run = new RunConfig { Model = model, Training = training };
        _training = training;
        _objective = objective;
        _parallel = parallel;
        _biases = biases ?? LocalBiasAuthority.Instance;
        _device = device ?? get_default_device();
        _model = new DeepSeekModel(model, training.Seed, parallel, _device);
        ExpertMap = parallel is null ? null : parallel.Map ?? ExpertMap.Identity(parallel.Placement, _model.MoeLayers.Count);
        _optimizer = new AdamW(_model.named_parameters(), training.Beta1, training.Beta2, training.Epsilon, training.WeightDecay);
        _recorder = _model.NewRecorder();
        _schedule = new LearningRateSchedule(training.LearningRate, training.MinLearningRate, training.WarmupSteps,
            training.DecaySteps > 0 ? training.DecaySteps : Math.Max(plannedSteps, training.WarmupSteps + 1));
        _biasSchedule = BiasUpdateSchedule.From(training);
        _window = training.SequenceLength + 1 + model.MtpDepth;
    }

    public DeepSeekModel Model => _model;
    public AdamW Optimizer => _optimizer;
    public RunConfig Run => _run;

    /// <summary>What the trainer minimises.</summary>
    public ITrainingObjective Objective => _objective;

    /// <summary>The expert map the next step routes by (null without expert parallelism).</summary>
    public ExpertMap? ExpertMap { get; private set; }


    /// <summary>The device the model and the step's tensors live on.</summary>
    public Device Device => _device;

    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; private set; }

    /// <summary>Tokens trained on so far.</summary>
    public long TokensSeen { get; private set; }

    /// <summary>Tokens a window covers: seq_len inputs, their next tokens, and one more per MTP depth.</summary>
    public int WindowLength => _window;

    /// <summary>
    /// What a step whose loss or gradient norm is not finite does: <see cref="NonFiniteSteps.Fail"/> (the default)
    /// throws <see cref="NonFiniteLossException"/>; <see cref="NonFiniteSteps.Skip"/> applies nothing of it (no
    /// optimizer update, biases unchanged), moves on to the next step's data and reports it as
    /// <see cref="StepReport.Skipped"/>. With expert parallelism the decision is taken after the loss and gradient
    /// all-reduce, whose results every rank shares, so all ranks skip the same steps.
    /// </summary>
    public NonFiniteSteps OnNonFinite { get; init; }

    /// <summary>
    /// Fault injection, for tests and drills only (the job spec's <c>faults.nan_step</c>): the 0-based step whose
    /// loss is multiplied by NaN before its backward pass, so its loss and gradients are NaN; null (the default)
    /// injects nothing.
    /// </summary>
    public long? InjectNanAtStep { get; init; }

    /// <summary>
    /// The state of this rank's previous peer snapshot, asked with the go-on vote and carried in the same loss all-reduce
    /// (<see cref="StepReport.Snapshots"/>); null: no snapshots.
    /// </summary>
    public Func<SnapshotSendState>? SnapshotState { get; init; }

    /// <summary>Runs one optimizer step (all micro-batches), then updates the expert biases.</summary>
    /// <param name="goOn">
    /// This rank's vote on going on after the step, asked once its backward pass is done; with expert
    /// parallelism the votes travel in the step's loss all-reduce (no extra collective), and
    /// <see cref="StepReport.EveryRankGoesOn"/> says whether all ranks voted yes — so ranks stop together.
    /// </param>
    public StepReport TrainStep(Func<bool>? goOn = null)
    {
        if (_parallel is null) return RunStep(goOn);
        try
        {
            return RunStep(goOn);
        }
        catch (Exception e) when (e is not CollectiveAbortedException)
        {
            // The other ranks are (or will be) waiting in a collective for this one: release them.
            _parallel.World.Abort(e.Message);
            throw;
        }
    }

    private StepReport RunStep(Func<bool>? goOn)
    {
        var clock = Stopwatch.StartNew();
        var (accumulation, batch) = (_training.GradientAccumulation, _training.MicroBatchSize);
        // An RL objective samples the step's rollouts from the model as it is, then the step makes its passes over them.
        var rollouts = _objective as IRolloutObjective;
        rollouts?.BeginStep(_model, Step);
        _recorder.ResetLoads();
        var pass = RunPass(goOn);
        for (var more = (rollouts?.Passes ?? 1) - 1; more > 0; more--) pass = RunPass(goOn);
        rollouts?.EndStep();
        var loads = _parallel is null
            ? _recorder.Loads.Select(l => (long[])l.Clone()).ToArray()
            : GradientSync.SumLoads(_parallel.World, _recorder.Loads);
        // A skipped step still takes its turn with the bias authority (the job's balancer counts steps), with γ = 0: unchanged
        // biases. An RL objective's steps leave the biases alone and never ask (its tokens are the policy's own).
        UpdateBiases(loads, pass.Skipped || rollouts is not null ? 0 : _biasSchedule.GammaAt(Step), always: pass.Skipped && rollouts is null);
        // At the step boundary: the next step routes by the new map on every rank (the move's collective is the fence).
        ExpertReplacementDone? replaced = null;
        if (Placement is not null && ExpertMap is { } before && Placement.Decide(Step, loads, before) is { } next)
            replaced = new ExpertReplacementDone(before, next, Move(next));

        Step++;
        var tokens = rollouts?.StepTokens ?? (long)accumulation * batch * _training.SequenceLength;
        TokensSeen += tokens;
        return new StepReport(Step, pass.Total / accumulation, pass.Main / accumulation, pass.Mtp / accumulation, pass.Balance / accumulation,
            pass.LearningRate, pass.GradNorm, tokens, clock.Elapsed.TotalSeconds, loads, loads.Select(l => ExpertBalance.MaxViolation(l)).ToArray())
        {
            EveryRankGoesOn = pass.EveryRankGoesOn,
            Snapshots = pass.Snapshots,
            Skipped = pass.Skipped,
            Replacement = replaced,
        };
    }

    private ModelLoss Forward(int micro)
    {
        try
        {
            return _objective.Loss(_model, Step, micro, _recorder);
        }
        catch (Fp8.NonFiniteInputException e)
        {
            _model.zero_grad();
            _recorder.TakeBalanceLoss().Dispose();
            throw new NonFiniteLossException(Step, micro, e);
        }
    }

    private void CheckFinite(int micro, string component, float value)
    {
        if (float.IsFinite(value)) return;
        _model.zero_grad();
        throw new NonFiniteLossException(Step, micro, component, value);
    }

    /// <summary>Global L2 norm over all gradients (summed in a fixed order), clipped to grad_clip.</summary>
    private double ClipGradients()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = _model.parameters().Select(p => p.grad).OfType<Tensor>().ToArray();
        if (grads.Length == 0) return 0;
        var norm = _parallel is null
            ? stack(grads.Select(g => g.to(ScalarType.Float64).pow(Scalars.OfInteger(2)).sum()).ToArray()).sum().sqrt().item<double>()
            : GradientSync.GlobalNorm(_model, _parallel);
        if (_training.GradientClip > 0 && norm > _training.GradientClip)
        {
            var factor = _training.GradientClip / (norm + 1e-6);
            using var scale = factor.ToScalar(); // per-step value: see Scalars
            foreach (var g in grads) g.mul_(scale);
        }
        return norm;
    }

    /// <summary>Asks the bias authority (local, or the job's load balancer) and installs its answer.</summary>
    private void UpdateBiases(long[][] loads, double gamma, bool always = false)
    {
        if ((gamma == 0 && !always) || _model.MoeLayers.Count == 0) return;
        using var noGrad = no_grad();
        var current = _model.MoeLayers.Select(m => m.ExpertBias.cpu().data<float>().ToArray()).ToArray();
        var decided = _biases.Update(Step, loads, gamma, current);
        for (var layer = 0; layer < _model.MoeLayers.Count; layer++)
        {
            using var updated = tensor(decided[layer], device: CPU);
            _model.MoeLayers[layer].ExpertBias.copy_(updated);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Tensor Tensor)> NamedTensors() => TrainerShards.ModuleTensors(_model);

    /// <summary>Restores counters after the tensors were loaded from a checkpoint.</summary>
    public void Restore(TrainerState state)
    {
        Step = state.Step;
        TokensSeen = state.TokensSeen;
    }

    public void Dispose()
    {
        _recorder.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
    }
}
