using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Rl;

/// <summary>
/// GRPO as a <see cref="Trainer"/>'s objective, for one rank (or one process) of a job: each step it takes its data
/// shard's groups of the step's <see cref="GrpoOptions.PromptsPerStep"/> (shard s of S the groups [s·P/S, (s + 1)·P/S)
/// of the order <see cref="GrpoTrainer"/> takes), samples and scores them with <see cref="GrpoRollouts"/> (the ranks of
/// an expert-parallel model in lockstep), and gives the trainer the loss of micro-batch m: its P/S/M groups' GRPO loss,
/// averaged over them. The trainer averages the micro-batches and the ranks (equal shares: the mean over the step's
/// groups, as <see cref="GrpoTrainer"/>'s), clips, steps AdamW, <see cref="Passes"/> times. The frozen reference is
/// built on the first step from the policy (<paramref name="reference"/>: same config, experts and device).
/// </summary>
public sealed class GrpoObjective(ITextTokenizer tokenizer, IReadOnlyList<string> prompts, RewardFunction reward, GrpoOptions options,
    int shard, int shards, int microBatches, Func<DeepSeekModel, DeepSeekModel> reference) : ITrainingObjective, IRolloutObjective, IDisposable
{
    private readonly int[][] _prompts = prompts.Select(p => tokenizer.Encode(p)).ToArray();
    private readonly int[] _order = GrpoRollouts.Order(prompts.Count, options.Seed);
    private readonly int _groups = Share(options, shards, microBatches);
    private readonly (double Kl, double Clip)[] _passStats = new (double, double)[microBatches];
    private DeepSeekModel? _reference;
    private GrpoRollouts? _current;
    private long _step = -1;

    /// <inheritdoc />
    public string Name => "grpo";

    /// <inheritdoc />
    public int VocabSize => tokenizer.VocabSize;

    /// <inheritdoc />
    public int Passes => options.Passes;

    /// <inheritdoc />
    public long StepTokens { get; private set; }

    /// <summary>The last step's rollouts and update, over every rank of the job (null before the first step ends).</summary>
    public GrpoStepStats? LastStep { get; private set; }

    /// <inheritdoc />
    public void BeginStep(DeepSeekModel policy, long step)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _current?.Dispose();
        if (_reference is null)
        {
            _reference = reference(policy);
            foreach (var p in _reference.parameters()) p.requires_grad = false;
        }
        var first = shard * _groups;
        var chosen = GrpoRollouts.Chosen(_order, step, options.PromptsPerStep, first, _groups);
        _current = GrpoRollouts.Collect(policy, _reference, tokenizer, _prompts, chosen, first, reward, options, step, policy.Parallel?.Collective);
        _step = step;
        StepTokens = _current.Completions.Sum(c => (long)c.Count);
    }

    /// <inheritdoc />
    public ModelLoss Loss(DeepSeekModel model, long step, int microStep, RoutingRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_current is null || step != _step) throw new InvalidOperationException($"grpo: step {step}'s rollouts were not sampled (BeginStep)");
        var perMicro = _groups / microBatches;
        var (loss, kl, clip) = _current.Loss(model, microStep * perMicro, perMicro, options.Loss);
        _passStats[microStep] = (kl, clip); // a later pass overwrites: the step reports its last pass
        return new ModelLoss(loss, loss.detach(), [], tensor(0f, device: model.Device)); // no balance term: GRPO's objective alone
    }

    /// <inheritdoc />
    public void EndStep()
    {
        if (_current is not { } rollouts) return;
        var world = _reference?.Parallel?.World;
        var rows = rollouts.Rewards.Count;
        double[] sums =
        [
            rollouts.Rewards.Sum(r => r.Accuracy), rollouts.Rewards.Sum(r => r.Format), StepTokens, rows,
            _passStats.Average(s => s.Kl), _passStats.Average(s => s.Clip), rollouts.Generation.NewTokens, rollouts.Generation.Elapsed.TotalSeconds,
            rollouts.Generation.Drafted, rollouts.Generation.Accepted,
        ];
        if (world is not null)
        {
            using var values = tensor(sums, ScalarType.Float64, device: CPU);
            world.AllReduceSum(values);
            sums = values.data<double>().ToArray();
        }
        var ranks = world?.WorldSize ?? 1;
        LastStep = new GrpoStepStats(_step + 1, sums[0] / sums[3], sums[1] / sums[3], sums[2] / sums[3], sums[4] / ranks, sums[5] / ranks,
            sums[7] > 0 ? sums[6] / (sums[7] / ranks) : 0, sums[8] > 0 ? sums[9] / sums[8] : null, rollouts.Samples());
        rollouts.Dispose();
        _current = null;
    }

    /// <summary>Groups a shard takes per step; refuses a step that does not split evenly over the shards and micro-batches.</summary>
    private static int Share(GrpoOptions options, int shards, int microBatches)
    {
        if (options.Problems() is { Count: > 0 } problems) throw new ArgumentException($"grpo: {string.Join("; ", problems)}", nameof(options));
        if (shards < 1 || microBatches < 1 || options.PromptsPerStep % (shards * microBatches) != 0)
            throw new ArgumentException($"grpo: {options.PromptsPerStep} prompts per step do not split over {shards} shard(s) × {microBatches} micro-batch(es)", nameof(options));
        return options.PromptsPerStep / shards;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _current?.Dispose();
        _reference?.Dispose();
    }
}

/// <summary>One GRPO step's rollouts and update over every rank of the job (what rank 0 reports).</summary>
/// <param name="Step">Steps done after this one.</param>
/// <param name="Accuracy">Mean accuracy reward of the rollouts.</param>
/// <param name="Format">Mean format reward.</param>
/// <param name="CompletionTokens">Mean completion length, tokens.</param>
/// <param name="Kl">Mean k3 KL to the reference over completion tokens (the last pass; the mean over ranks).</param>
/// <param name="ClipFraction">Share of completion tokens whose ratio was clipped (the last pass; the mean over ranks).</param>
/// <param name="GenerationTokensPerSecond">The job's generated tokens per second of (mean) rank generation time.</param>
/// <param name="MtpAcceptance">Accepted ÷ drafted MTP tokens when the rollouts speculated, else null.</param>
/// <param name="Samples">This rank's first completion of each of its groups, with its reward.</param>
public sealed record GrpoStepStats(long Step, double Accuracy, double Format, double CompletionTokens, double Kl, double ClipFraction,
    double GenerationTokensPerSecond, double? MtpAcceptance, IReadOnlyList<GrpoSample> Samples);
