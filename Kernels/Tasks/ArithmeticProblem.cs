namespace Orchestrator.Kernels.Tasks;

/// <summary>One arithmetic word problem: the question, its numeric answer and a worked-out reasoning.</summary>
/// <param name="Question">The word problem (without the chat template).</param>
/// <param name="Answer">The exact answer.</param>
/// <param name="Reasoning">The working that leads to the answer (the think part of an SFT response).</param>
/// <param name="Key">Identifies the arithmetic (operands and operator); no key is in both splits.</param>
public sealed record ArithmeticProblem(string Question, long Answer, string Reasoning, string Key)
{
    /// <summary>The answer as the answer tag writes it.</summary>
    public string AnswerText => Answer.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The R1-format response an SFT example teaches.</summary>
    public string Response => R1Format.Response(Reasoning, AnswerText);
}
