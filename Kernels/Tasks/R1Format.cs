namespace Orchestrator.Kernels.Tasks;

/// <summary>
/// The DeepSeek-R1 response format, <c>&lt;think&gt;reasoning&lt;/think&gt;&lt;answer&gt;answer&lt;/answer&gt;</c>, and the
/// chat template a prompt is wrapped in before the response (the same text in SFT data, rollouts and evaluation).
/// </summary>
public static class R1Format
{
    /// <summary>Opens the reasoning.</summary>
    public const string ThinkOpen = "<think>";

    /// <summary>Closes the reasoning.</summary>
    public const string ThinkClose = "</think>";

    /// <summary>Opens the answer.</summary>
    public const string AnswerOpen = "<answer>";

    /// <summary>Closes the answer; nothing may follow it.</summary>
    public const string AnswerClose = "</answer>";

    /// <summary>A response in the R1 format: the reasoning in the think part, the answer in the answer part.</summary>
    public static string Response(string reasoning, string answer)
    {
        ArgumentNullException.ThrowIfNull(reasoning);
        ArgumentNullException.ThrowIfNull(answer);
        return $"{ThinkOpen}{reasoning}{ThinkClose}{AnswerOpen}{answer}{AnswerClose}";
    }

    /// <summary>
    /// The text the model sees before its response: <c>User: {prompt}\nAssistant: </c>. Kept short (not R1's
    /// paragraph-long system prompt) so that an example fits a tiny model's window with byte tokens.
    /// </summary>
    public static string Prompt(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return $"User: {question}\nAssistant: ";
    }
}
