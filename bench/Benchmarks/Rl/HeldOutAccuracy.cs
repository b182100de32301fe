using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tasks;

namespace Orchestrator.Benchmarks.Rl;

/// <summary>Accuracy and format of one model on the held-out problems, overall and per operation (+, −, *).</summary>
internal sealed record HeldOutScore(double Accuracy, double Format, IReadOnlyDictionary<string, double> AccuracyByOperation, double Seconds, string Sample);

/// <summary>
/// The recipe's evaluation: greedy completions of the held-out prompts (never trained on), stopped at the answer's
/// closing tag; a problem counts when the answer tag holds exactly its number (<see cref="R1Rewards.Accuracy"/>).
/// </summary>
internal static class HeldOutAccuracy
{
    /// <summary>Scores <paramref name="model"/> on <paramref name="problems"/>, <paramref name="maxNewTokens"/> tokens at most per completion.</summary>
    public static HeldOutScore Evaluate(DeepSeekModel model, ITextTokenizer tokenizer, IReadOnlyList<ArithmeticProblem> problems, int maxNewTokens)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var generator = new TextGenerator(model, tokenizer);
        var scored = new List<(string Operation, double Accuracy, double Format)>(problems.Count);
        var sample = "";
        foreach (var batch in problems.Chunk(50))
        {
            var result = generator.Generate(batch.Select(p => R1Format.Prompt(p.Question)).ToArray(),
                new GenerationOptions { MaxNewTokens = maxNewTokens, Stop = [R1Format.AnswerClose] });
            foreach (var (problem, completion) in batch.Zip(result.Completions))
            {
                var text = completion.Finish == FinishReason.Stop ? completion.Text + R1Format.AnswerClose : completion.Text ?? "";
                if (sample.Length == 0) sample = text;
                scored.Add((Operation(problem), R1Rewards.Accuracy(text, problem.Answer), R1Rewards.Format(text)));
            }
        }
        var byOperation = scored.GroupBy(s => s.Operation).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Average(s => s.Accuracy));
        return new HeldOutScore(scored.Average(s => s.Accuracy), scored.Average(s => s.Format), byOperation, clock.Elapsed.TotalSeconds, sample);
    }

    /// <summary>The operator of a problem, read from its key (<c>a+b</c>, <c>a-b</c>, <c>a*b</c>).</summary>
    public static string Operation(ArithmeticProblem problem) =>
        problem.Key.Contains('+', StringComparison.Ordinal) ? "+" : problem.Key.Contains('*', StringComparison.Ordinal) ? "*" : "-";
}
