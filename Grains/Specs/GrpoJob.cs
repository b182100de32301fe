using System.Globalization;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Training.Objectives;
using Orchestrator.Kernels.Training.Rl;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// What a grpo job's ranks run, read from its spec in one place (the ranks, the submission check and the tests that
/// compare a job with the single-process <see cref="GrpoTrainer"/> use it alike): the prompts in the chat template, the
/// rule-based reward (R1's accuracy against each prompt's numeric answer, plus its format), and the options — G, β, ε,
/// passes, rollout length and temperature from the <c>grpo</c> section; per step every data shard (rank) takes
/// micro_batch_size × gradient_accumulation groups, so the step's prompts are that times the job's ranks; the seed and
/// the learning rate are training's.
/// </summary>
public static class GrpoJob
{
    /// <summary>The prompt set's prompts and answers; a line whose answer is not a number is refused naming it (<c>data: line N: …</c>).</summary>
    public static IReadOnlyList<(string Prompt, decimal Answer)> Problems(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        IReadOnlyList<(string Prompt, string? Answer)> lines;
        try
        {
            lines = PromptSet.Load(spec.DataDirectory, requireAnswer: true);
        }
        catch (DataFileException e)
        {
            throw new JobSpecException("data", e.Message);
        }
        return lines.Select((line, i) => decimal.TryParse(line.Answer, NumberStyles.Number, CultureInfo.InvariantCulture, out var answer)
            ? (line.Prompt, answer)
            : throw new JobSpecException("data", $"{spec.DataDirectory}: line {i + 1}: \"answer\" '{line.Answer}' is not a number (the verifier matches numbers exactly)")).ToArray();
    }

    /// <summary>The prompts as the model sees them (<see cref="R1Format.Prompt"/>), in the prompt set's order.</summary>
    public static IReadOnlyList<string> Prompts(IReadOnlyList<(string Prompt, decimal Answer)> problems) =>
        problems.Select(p => R1Format.Prompt(p.Prompt)).ToArray();

    /// <summary>R1's reward of a completion of prompt i: accuracy (its answer equals the prompt's) and format.</summary>
    public static RewardFunction Reward(IReadOnlyList<(string Prompt, decimal Answer)> problems) =>
        (prompt, completion) => new RolloutReward(R1Rewards.Accuracy(completion, problems[prompt].Answer), R1Rewards.Format(completion));

    /// <summary>The job's GRPO options (the whole step's prompts: every rank's groups).</summary>
    public static GrpoOptions Options(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var grpo = spec.Grpo ?? throw new JobSpecException("grpo", "is required for kind \"grpo\"");
        var training = spec.Run.Config().Training!;
        return new GrpoOptions
        {
            GroupSize = grpo.GroupSize, Passes = grpo.Passes, MaxNewTokens = grpo.MaxNewTokens, Temperature = grpo.Temperature,
            PromptsPerStep = training.MicroBatchSize * training.GradientAccumulation * spec.Layout.Ep * spec.Layout.Dp,
            Stop = [R1Format.AnswerClose], LearningRate = training.LearningRate, Seed = training.Seed,
            Loss = new GrpoSettings(grpo.Clip, grpo.KlCoefficient),
        };
    }

    /// <summary>Refuses a grpo job its ranks could not run: bad data, or a prompt with its rollout longer than the model's window.</summary>
    public static void Check(JobSpec spec)
    {
        var problems = Problems(spec);
        var options = Options(spec);
        var model = spec.Run.Config().Model!;
        var tokenizer = TokenizerCatalog.Create(spec.Grpo!.Tokenizer);
        if (tokenizer.VocabSize > model.VocabSize)
            throw new JobSpecException("grpo.tokenizer", $"'{tokenizer.Name}' has {tokenizer.VocabSize} ids, more than model.vocab_size ({model.VocabSize})");
        var longest = Prompts(problems).Select((p, i) => (Tokens: tokenizer.Encode(p).Length, Line: i + 1)).MaxBy(p => p.Tokens);
        if (longest.Tokens + options.MaxNewTokens > model.MaxSequenceLength)
            throw new JobSpecException("grpo.max_new_tokens", $"{options.MaxNewTokens} new tokens after the longest prompt (line {longest.Line}, {longest.Tokens} tokens) exceed model.max_seq_len ({model.MaxSequenceLength})");
    }
}
