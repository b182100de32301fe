using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Rl;

/// <summary>
/// One step's rollouts of some groups (all of a step's in one process, a rank's share on ranks): the prompts, G sampled
/// completions of each from the current policy, their rewards, and the completion tokens' log-probs under the sampling
/// policy and the frozen reference. The one code both <see cref="GrpoTrainer"/> and the ranks' <see cref="GrpoObjective"/>
/// run: which prompts a step takes (<see cref="Chosen"/>), the sampling (<see cref="Collect"/>) and the loss of a run of
/// groups (<see cref="Loss"/>).
/// </summary>
public sealed class GrpoRollouts : IDisposable
{
    private GrpoRollouts(int[] groups, int groupSize, int[][] prompts, IReadOnlyList<int>[] completions, string[] texts, RolloutReward[] rewards,
        Tensor old, Tensor reference, Tensor mask, GenerationResult generation)
    {
        (Groups, GroupSize, Prompts, Completions, Texts, Rewards) = (groups, groupSize, prompts, completions, texts, rewards);
        (OldLogProbs, ReferenceLogProbs, Mask, Generation) = (old, reference, mask, generation);
    }

    /// <summary>Per group, its prompt's index in the prompt set.</summary>
    public IReadOnlyList<int> Groups { get; }

    /// <summary>G: completions per group (rows i·G … i·G + G − 1 are group i's).</summary>
    public int GroupSize { get; }

    /// <summary>Per row, the prompt's tokens.</summary>
    public IReadOnlyList<int[]> Prompts { get; }

    /// <summary>Per row, the sampled completion's tokens (end-of-text included when sampled).</summary>
    public IReadOnlyList<IReadOnlyList<int>> Completions { get; }

    /// <summary>Per row, the completion's text as sampled, stop text included, without the end-of-text token.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>Per row, its reward.</summary>
    public IReadOnlyList<RolloutReward> Rewards { get; }

    /// <summary>Log-probs [rows, L] of the completion tokens under the policy that sampled them.</summary>
    public Tensor OldLogProbs { get; }

    /// <summary>Log-probs [rows, L] under the frozen reference.</summary>
    public Tensor ReferenceLogProbs { get; }

    /// <summary>1 on completion tokens [rows, L].</summary>
    public Tensor Mask { get; }

    /// <summary>The generation call's counts and time (tokens/s, MTP acceptance when it speculated).</summary>
    public GenerationResult Generation { get; }

    /// <summary>A seeded order of <paramref name="count"/> prompts (every pass over the set takes them in it).</summary>
    public static int[] Order(int count, ulong seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var random = SplitMix64.Split(seed, 0x9770);
        for (var i = count - 1; i > 0; i--)
        {
            var j = (int)random.NextBelow((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>The prompts of groups [<paramref name="first"/>, first + count) of 0-based <paramref name="step"/>, each step taking <paramref name="perStep"/> groups.</summary>
    public static int[] Chosen(IReadOnlyList<int> order, long step, int perStep, int first, int count) =>
        Enumerable.Range(first, count).Select(i => order[(int)((step * perStep + i) % order.Count)]).ToArray();

    /// <summary>
    /// Samples G completions of each of <paramref name="groups"/> (prompt indices into <paramref name="promptSet"/>) from
    /// <paramref name="policy"/> at 0-based <paramref name="step"/> (its decode view built now: the folded MLA weights
    /// follow the policy), scores them and reads both log-probs. <paramref name="firstGroup"/> is the first group's
    /// index in the whole step, so its rows draw from the streams they would in the whole batch; with
    /// <paramref name="lockstep"/> (an expert-parallel policy) every rank makes the same model calls.
    /// </summary>
    public static GrpoRollouts Collect(DeepSeekModel policy, DeepSeekModel reference, ITextTokenizer tokenizer, IReadOnlyList<int[]> promptSet,
        IReadOnlyList<int> groups, int firstGroup, RewardFunction reward, GrpoOptions options, long step, ICollective? lockstep = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(promptSet);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(options);
        var g = options.GroupSize;
        var rows = groups.SelectMany(p => Enumerable.Repeat(p, g)).ToArray();
        var prompts = rows.Select(p => promptSet[p]).ToArray();
        GenerationResult generation;
        using (var generator = new TextGenerator(policy, tokenizer))
            generation = generator.Generate(prompts, new GenerationOptions
            {
                MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, TopP = options.TopP, Stop = options.Stop,
                Seed = SplitMix64.Mix(options.Seed ^ SplitMix64.Mix((ulong)step + 1)), FirstStream = (long)firstGroup * g, Lockstep = lockstep,
            });
        var completions = generation.Completions.Select(c => c.Tokens).ToArray();
        var texts = completions.Select(c => Text(tokenizer, c)).ToArray();
        var rewards = rows.Select((p, i) => reward(p, texts[i])).ToArray();
        using (no_grad())
        {
            var (old, mask) = CompletionLogProbs.Of(policy, prompts, completions);
            var (referenceLogProbs, referenceMask) = CompletionLogProbs.Of(reference, prompts, completions);
            referenceMask.Dispose();
            return new GrpoRollouts([.. groups], g, prompts, completions, texts, rewards, old, referenceLogProbs, mask, generation);
        }
    }

    /// <summary>
    /// GRPO's loss of groups [<paramref name="first"/>, first + count) under <paramref name="model"/> (one forward of their
    /// rows, grad through it), averaged over the groups, with the groups' mean KL and clip fraction.
    /// </summary>
    public (Tensor Loss, double Kl, double ClipFraction) Loss(DeepSeekModel model, int first, int count, GrpoSettings settings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        if (first < 0 || count < 1 || first + count > Groups.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"groups [{first}, {first + count}) of {Groups.Count}");
        var g = GroupSize;
        using var scope = NewDisposeScope();
        var rows = Enumerable.Range(first * g, count * g).ToArray();
        var (logProbs, _) = CompletionLogProbs.Of(model, rows.Select(r => Prompts[r]).ToArray(), rows.Select(r => Completions[r]).ToArray());
        var width = logProbs.shape[1];
        var results = Enumerable.Range(0, count).Select(i => GrpoLoss.Compute(logProbs.narrow(0, i * g, g),
            OldLogProbs.narrow(0, (first + i) * g, g).narrow(1, 0, width), ReferenceLogProbs.narrow(0, (first + i) * g, g).narrow(1, 0, width),
            Mask.narrow(0, (first + i) * g, g).narrow(1, 0, width), Rewards.Skip((first + i) * g).Take(g).Select(r => r.Total).ToArray(), settings)).ToArray();
        var total = stack(results.Select(r => r.Loss).ToArray()).mean();
        return (total.MoveToOuterDisposeScope(), results.Average(r => r.MeanKl), results.Average(r => r.ClipFraction));
    }

    /// <summary>The first completion of each group with its reward, for the dashboard's table.</summary>
    public IReadOnlyList<GrpoSample> Samples() =>
        Enumerable.Range(0, Groups.Count).Select(i => new GrpoSample(Groups[i], Texts[i * GroupSize], Rewards[i * GroupSize])).ToArray();

    private static string Text(ITextTokenizer tokenizer, IReadOnlyList<int> tokens)
    {
        var count = tokens.Count > 0 && tokens[^1] == tokenizer.EndOfText ? tokens.Count - 1 : tokens.Count;
        return tokenizer.Decode(tokens.Take(count).ToArray());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        OldLogProbs.Dispose();
        ReferenceLogProbs.Dispose();
        Mask.Dispose();
    }
}
