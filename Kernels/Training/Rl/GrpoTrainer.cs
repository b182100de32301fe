using System.Diagnostics;
using TorchSharp;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Rl;

/// <summary>
/// Group Relative Policy Optimization in one process (DeepSeekMath §4.1, R1 §2.2). Each step takes the next
/// <see cref="GrpoOptions.PromptsPerStep"/> prompts of a seeded order, samples G completions of each from the current
/// policy with the latent-cache decoder (seeded per step: same seed, same rollouts), scores them with the rule-based
/// reward, reads the completion tokens' log-probs under the sampling policy and the frozen reference, then makes
/// <see cref="GrpoOptions.Passes"/> AdamW updates of the clipped-ratio objective with the k3 KL penalty
/// (<see cref="GrpoLoss"/>, averaged over the step's groups), the global gradient norm clipped to grad_clip. The
/// routing biases stay as the policy's checkpoint has them: RL's tokens are the policy's own, and the bias update is
/// pre-training's.
/// </summary>
public sealed class GrpoTrainer : IDisposable
{
    private readonly DeepSeekModel _policy;
    private readonly DeepSeekModel _reference;
    private readonly ITextTokenizer _tokenizer;
    private readonly IReadOnlyList<int[]> _prompts;
    private readonly RewardFunction _reward;
    private readonly TrainingConfig _training;
    private readonly GrpoOptions _options;
    private readonly int[] _order;
    private readonly AdamW _optimizer;

    /// <summary>Trains <paramref name="policy"/> against <paramref name="reference"/> (frozen; not the same module) on <paramref name="prompts"/>.</summary>
    /// <exception cref="ArgumentException">An option is unusable, the prompt set is empty, or the policy is the reference.</exception>
    public GrpoTrainer(DeepSeekModel policy, DeepSeekModel reference, ITextTokenizer tokenizer, IReadOnlyList<string> prompts,
        RewardFunction reward, TrainingConfig training, GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(options);
        if (ReferenceEquals(policy, reference)) throw new ArgumentException("the reference policy must be a frozen copy, not the policy itself", nameof(reference));
        if (options.Problems() is { Count: > 0 } problems) throw new ArgumentException($"grpo: {string.Join("; ", problems)}", nameof(options));
        if (prompts.Count == 0) throw new ArgumentException("grpo: no prompts", nameof(prompts));
        _policy = policy;
        _reference = reference;
        _tokenizer = tokenizer;
        _prompts = prompts.Select(p => tokenizer.Encode(p)).ToArray();
        _reward = reward;
        _training = training;
        _options = options;
        _order = GrpoRollouts.Order(prompts.Count, options.Seed);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        _optimizer = new AdamW(policy.named_parameters().Select(p => (p.name, p.parameter)), training.Beta1, training.Beta2, training.Epsilon, training.WeightDecay);
    }

    /// <summary>Steps done.</summary>
    public long Step { get; private set; }

    /// <summary>One GRPO step: rollouts, rewards, log-probs, the passes of updates.</summary>
    public GrpoStepReport TrainStep()
    {
        var clock = Stopwatch.StartNew();
        var groups = _options.PromptsPerStep;
        var chosen = GrpoRollouts.Chosen(_order, Step, groups, 0, groups);
        using var rollouts = GrpoRollouts.Collect(_policy, _reference, _tokenizer, _prompts, chosen, 0, _reward, _options, Step);
        var rolloutSeconds = clock.Elapsed.TotalSeconds;
        double loss = 0, kl = 0, clipped = 0, norm = 0;
        for (var pass = 0; pass < _options.Passes; pass++)
            (loss, kl, clipped, norm) = Update(rollouts, groups);

        Step++;
        var rewards = rollouts.Rewards;
        return new GrpoStepReport(Step, loss, rewards.Average(r => r.Accuracy), rewards.Average(r => r.Format), rollouts.Completions.Average(c => c.Count),
            kl, clipped, norm, rolloutSeconds, clock.Elapsed.TotalSeconds, rollouts.Samples());
    }

    /// <summary>One pass: the loss over every group, backward, the norm clipped, one AdamW step.</summary>
    private (double Loss, double Kl, double Clipped, double Norm) Update(GrpoRollouts rollouts, int groups)
    {
        using var scope = NewDisposeScope();
        _policy.zero_grad();
        var (total, kl, clipped) = rollouts.Loss(_policy, 0, groups, _options.Loss);
        total.backward();
        var norm = ClipGradients();
        _optimizer.Step(_options.LearningRate);
        return (total.to(ScalarType.Float64).item<double>(), kl, clipped, norm);
    }

    /// <summary>Global L2 norm of the policy's gradients (float64, a fixed order), scaled down to grad_clip when above it.</summary>
    private double ClipGradients()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = _policy.parameters().Select(p => p.grad).OfType<Tensor>().ToArray();
        if (grads.Length == 0) return 0;
        var norm = stack(grads.Select(x => x.to(ScalarType.Float64).pow(Scalars.OfInteger(2)).sum()).ToArray()).sum().sqrt().item<double>();
        if (_training.GradientClip > 0 && norm > _training.GradientClip)
        {
            using var scale = (_training.GradientClip / (norm + 1e-6)).ToScalar();
            foreach (var x in grads) x.mul_(scale);
        }
        return norm;
    }

    /// <inheritdoc />
    public void Dispose() => _optimizer.Dispose();
}
