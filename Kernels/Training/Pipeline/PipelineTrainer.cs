using System.Diagnostics;
using Orchestrator.Kernels.Native;
using TorchSharp;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// One rank of a pipeline-parallel run: the virtual stages its schedule gives it, their AdamW state, and a step
/// that runs the rank's program (<see cref="PipelineExecutor"/>) over <c>gradient_accumulation</c> micro-batches,
/// then the cross-rank work — embedding tie, global norm, clipping — the update, and the bias update of its own
/// MoE layers from the loads summed over the pipeline. With the same seed, data and micro-batching the ranks end
/// each step with the weights a single-process <see cref="Trainer"/> would hold. With <c>replicas</c> (the stage's
/// data-parallel group: pp × dp) each replica's pipeline trains its own rows and the gradients are averaged over the
/// replicas before the norm, so every replica applies the same update.
/// </summary>
public sealed partial class PipelineTrainer : IShardedTrainer, IDisposable
{
    private readonly TrainingConfig _training;
    private readonly ModelConfig _model;
    private readonly IBatchSource _data;
    private readonly ICollective _pipeline;
    private readonly IStageLink _link;
    private readonly ICollective? _replicas;
    private readonly ExpertParallelism? _experts;
    private readonly PipelineChunk[] _chunks;
    private readonly AdamW _optimizer;
    private readonly RoutingRecorder _recorder;
    private readonly PipelineExecutor _executor;
    private readonly LearningRateSchedule _schedule;
    private readonly BiasUpdateSchedule _biasSchedule;
    private readonly IExpertBiasAuthority _biases;
    private readonly IReadOnlyList<PipelineAction> _program;
    private readonly bool _tie;
    private readonly bool _tieAcrossRanks;
    private readonly int _window;

    /// <summary>
    /// Rank <paramref name="link"/>.Rank of a <paramref name="schedule"/> pipeline; <paramref name="pipeline"/> is the
    /// collective over the same ranks (norm, loads, losses). <paramref name="stageLayers"/> overrides the even split.
    /// </summary>
    public PipelineTrainer(ModelConfig model, TrainingConfig training, IBatchSource data, long plannedSteps, PipelineSchedule schedule,
        IStageLink link, ICollective pipeline, IReadOnlyList<int>? stageLayers = null, IExpertBiasAuthority? biases = null, Device? device = null,
        ICollective? replicas = null, ExpertParallelism? experts = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(pipeline);
        if (pipeline.WorldSize != link.WorldSize || pipeline.Rank != link.Rank)
            throw new ArgumentException($"the stage link is rank {link.Rank} of {link.WorldSize} but the collective rank {pipeline.Rank} of {pipeline.WorldSize}", nameof(pipeline));
        if (training.SequenceLength > model.MaxSequenceLength)
            throw new ConfigException("config", [$"training.seq_len: {training.SequenceLength} exceeds model.max_seq_len ({model.MaxSequenceLength})"]);
        _model = model;
        _training = training;
        _data = data;
        _pipeline = pipeline;
        _link = link;
        if (experts is not null && replicas is not null)
            throw new ArgumentException("with experts sharded within a stage, the stage's data-parallel group is experts.World; give no separate replicas", nameof(replicas));
        _experts = experts;
        _replicas = replicas ?? experts?.World;
        _biases = biases ?? LocalBiasAuthority.Instance;
        Device = device ?? get_default_device();
        var ranks = link.WorldSize;
        Plan = schedule.Build(ranks, training.GradientAccumulation);
        Split = StageSplit.Of(model.Layers, Plan.VirtualStages, stageLayers);
        _program = Plan.Ranks[link.Rank];
        _chunks = Enumerable.Range(0, schedule.ChunksPerRank)
            .Select(c => new PipelineChunk(model, Split.Stages[schedule.VirtualStageOf(link.Rank, c, ranks)], training.Seed, Device, experts)).ToArray();
        _tie = model.MtpDepth > 0 && Plan.VirtualStages > 1;
        _tieAcrossRanks = schedule.PlaceOf(0, ranks).Rank != schedule.PlaceOf(Plan.VirtualStages - 1, ranks).Rank;
        _optimizer = new AdamW(_chunks.SelectMany(c => c.named_parameters().Select(p => (Rename(c, p.name), p.parameter))),
            training.Beta1, training.Beta2, training.Epsilon, training.WeightDecay);
        _recorder = new RoutingRecorder(model.MoeLayers + model.MtpDepth, Math.Max(model.RoutedExperts, 1), Device);
        _executor = new PipelineExecutor(_chunks, link, _recorder, training.GradientAccumulation);
        _schedule = new LearningRateSchedule(training.LearningRate, training.MinLearningRate, training.WarmupSteps,
            training.DecaySteps > 0 ? training.DecaySteps : Math.Max(plannedSteps, training.WarmupSteps + 1));
        _biasSchedule = BiasUpdateSchedule.From(training);
        _window = training.SequenceLength + 1 + model.MtpDepth;
    }

    /// <summary>The device of this rank's stages.</summary>
    public Device Device { get; }

    /// <summary>Every rank's program for a step.</summary>
    public PipelinePlan Plan { get; }

    /// <summary>The model's layers over the virtual stages.</summary>
    public StageSplit Split { get; }

    /// <summary>This rank's stages, by chunk.</summary>
    public IReadOnlyList<PipelineChunk> Chunks => _chunks;

    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; private set; }

    /// <inheritdoc />
    public long TokensSeen { get; private set; }

    /// <inheritdoc />
    public RunConfig Run => new() { Model = _model, Training = _training };

    /// <inheritdoc />
    public AdamW Optimizer => _optimizer;

    /// <summary>When each of this rank's computes ran in the last step (seconds from the start of its program).</summary>
    public IReadOnlyList<PipelineInterval> LastTimeline { get; private set; } = [];

    /// <summary>
    /// What a step whose loss or gradient norm is not finite does (as <see cref="Trainer.OnNonFinite"/>): throw, or skip
    /// it on every rank alike — the loss and the norm are the pipeline's all-reduced ones — applying nothing of it.
    /// </summary>
    public NonFiniteSteps OnNonFinite { get; init; }

    /// <summary>Fault injection, tests and drills only: the 0-based step whose losses are made NaN; null injects nothing.</summary>
    public long? InjectNanAtStep { get; init; }

    /// <summary>Runs one optimizer step over all micro-batches; every rank of the pipeline calls it together.</summary>
    /// <param name="goOn">
    /// This rank's vote on going on after the step; the votes travel in the step's loss all-reduce, and
    /// <see cref="StepReport.EveryRankGoesOn"/> says whether every stage voted yes, so the stages stop together.
    /// </param>
    public StepReport TrainStep(Func<bool>? goOn = null)
    {
        try
        {
            return RunStep(goOn);
        }
        catch (Exception e) when (e is not CollectiveAbortedException)
        {
            // The other stages wait for this one in a receive or in a collective: release both.
            _link.Abort(e.Message);
            _pipeline.Abort(e.Message);
            throw;
        }
    }

    private StepReport RunStep(Func<bool>? goOn)
    {
        var clock = Stopwatch.StartNew();
        var batch = _training.MicroBatchSize;
        var microBatches = _training.GradientAccumulation;
        var windows = new Dictionary<int, Tensor>();
        _recorder.ResetLoads();
        foreach (var c in _chunks) c.zero_grad();
        PipelineStepResult result;
        try
        {
            _executor.InjectNan = InjectNanAtStep == Step;
            result = _executor.Run(_program, m =>
            {
                if (windows.TryGetValue(m, out var w)) return w;
                var buffer = new long[batch * _window];
                _data.Fill(Step, m, buffer);
                return windows[m] = tensor(buffer, [batch, _window], ScalarType.Int64, device: Device);
            });
        }
        finally
        {
            foreach (var w in windows.Values) w.Dispose();
        }

        LastTimeline = result.Intervals;
        if (_tie) PipelineGradients.TieEmbedding(_chunks, _pipeline, _tieAcrossRanks, [_model.VocabSize, _model.Dim]);
        double norm;
        if (_experts is not null)
        {
            PipelineStageGradients.AverageOverStage(_chunks, _experts);
            norm = PipelineStageGradients.ShardedNorm(_chunks, _pipeline, _experts);
        }
        else
        {
            if (_replicas is not null) PipelineGradients.AverageOverReplicas(_chunks, _replicas);
            norm = PipelineGradients.GlobalNorm(_chunks, _pipeline, Plan.VirtualStages);
        }
        var (main, mtp, balance, everyRankGoesOn) = Losses(result, goOn?.Invoke() ?? true);
        var skipped = !double.IsFinite(norm) || !double.IsFinite(main);
        if (skipped)
        {
            foreach (var c in _chunks) c.zero_grad(); // nothing of the step is applied
            if (OnNonFinite != NonFiniteSteps.Skip)
                throw new NonFiniteLossException(Step, microBatches - 1, double.IsFinite(main) ? "gradient-norm" : "main loss", double.IsFinite(main) ? norm : main);
        }

        var lr = _schedule.At(Step);
        if (!skipped)
        {
            Clip(norm);
            _optimizer.Step(lr);
        }

        var loads = GradientSync.SumLoads(_pipeline, _recorder.Loads);
        if (_replicas is not null) loads = GradientSync.SumLoads(_replicas, loads);
        // A skipped step still takes its turn with the bias authority (the job's balancer counts steps), with γ = 0.
        UpdateBiases(loads, skipped ? 0 : _biasSchedule.GammaAt(Step), always: skipped);

        Step++;
        var tokens = (long)microBatches * batch * _training.SequenceLength;
        TokensSeen += tokens;
        var total = main + balance + _model.MtpLossWeight * mtp;
        return new StepReport(Step, total / microBatches, main / microBatches, mtp / microBatches, balance / microBatches,
            lr, norm, tokens, clock.Elapsed.TotalSeconds, loads, loads.Select(l => ExpertBalance.MaxViolation(l)).ToArray())
        {
            EveryRankGoesOn = everyRankGoesOn,
            Skipped = skipped,
        };
    }

    /// <summary>The step's loss sums over the pipeline (main and MTP from the last stage's rank, balance from every stage) and the stages' votes.</summary>
    private (double Main, double Mtp, double Balance, bool EveryRankGoesOn) Losses(PipelineStepResult result, bool vote)
    {
        using var sums = tensor(new[] { result.Main, result.Mtp, result.Balance, vote ? 1.0 : 0.0 }, ScalarType.Float64, device: CPU);
        _pipeline.AllReduceSum(sums);
        if (_replicas is not null)
        {
            // Each replica's pipeline trained its own rows: the step's loss is their mean, and every replica must go on.
            _replicas.AllReduceSum(sums);
            sums.div_(Scalars.Of(_replicas.WorldSize)); // the votes too: every rank voted yes when the mean is the pipeline's size
        }

        var values = sums.data<double>().ToArray();
        return (values[0], values[1], values[2], Math.Abs(values[3] - _pipeline.WorldSize) < 1e-9);
    }

    private void Clip(double norm)
    {
        if (_training.GradientClip <= 0 || norm <= _training.GradientClip) return;
        using var noGrad = no_grad();
        using var scale = (_training.GradientClip / (norm + 1e-6)).ToScalar(); // per-step value: see Scalars
        foreach (var g in _chunks.SelectMany(c => c.parameters()).Select(p => p.grad).OfType<Tensor>()) g.mul_(scale);
    }

    /// <inheritdoc />
    /// <remarks>The MTP stage's embedding copy is <c>embed.copy</c> (a checkpoint without it restores it from <c>embed</c>).</remarks>
    public IReadOnlyList<(string Name, Tensor Tensor)> NamedTensors() =>
        _chunks.SelectMany(c => TrainerShards.ModuleTensors(c, name => Rename(c, name))).ToArray();

    /// <inheritdoc />
    public void Restore(TrainerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Step = state.Step;
        TokensSeen = state.TokensSeen;
    }

    private static string Rename(PipelineChunk chunk, string name) => chunk.HoldsEmbeddingCopy && name == "embed" ? "embed" + TrainerShards.CopySuffix : name;

    /// <inheritdoc />
    public void Dispose()
    {
        _recorder.Dispose();
        _optimizer.Dispose();
        foreach (var c in _chunks) c.Dispose();
    }
}
