using System.Globalization;

namespace Orchestrator.Kernels.Tasks;

/// <summary>
/// DeepSeek-R1's rule-based rewards, each 0 or 1: <see cref="Format"/> (the tags present and in order, nothing after
/// the answer) and <see cref="Accuracy"/> (the answer, parsed as a number, equal to the expected one exactly).
/// </summary>
public static class R1Rewards
{
    private const NumberStyles Numbers = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint;

    /// <summary>
    /// 1 when the completion is <c>&lt;think&gt;…&lt;/think&gt;&lt;answer&gt;…&lt;/answer&gt;</c>: it opens with
    /// <c>&lt;think&gt;</c> (leading white space allowed), each of the four tags occurs exactly once, in that order,
    /// white space only between <c>&lt;/think&gt;</c> and <c>&lt;answer&gt;</c>, and nothing but white space after
    /// <c>&lt;/answer&gt;</c>; else 0.
    /// </summary>
    public static double Format(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        string[] tags = [R1Format.ThinkOpen, R1Format.ThinkClose, R1Format.AnswerOpen, R1Format.AnswerClose];
        var at = new int[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            at[i] = completion.IndexOf(tags[i], StringComparison.Ordinal);
            if (at[i] < 0 || completion.IndexOf(tags[i], at[i] + 1, StringComparison.Ordinal) >= 0) return 0;
            if (i > 0 && at[i] < at[i - 1] + tags[i - 1].Length) return 0;
        }
        var before = completion[..at[0]];
        var between = completion[(at[1] + tags[1].Length)..at[2]];
        var after = completion[(at[3] + tags[3].Length)..];
        return string.IsNullOrWhiteSpace(before) && string.IsNullOrWhiteSpace(between) && string.IsNullOrWhiteSpace(after) ? 1 : 0;
    }

    /// <summary>
    /// 1 when the text of the first <c>&lt;answer&gt;…&lt;/answer&gt;</c> (trimmed) is a number (optional sign, digits,
    /// optional decimal point; invariant culture, no thousands separators) equal to <paramref name="expected"/>; else 0.
    /// Independent of <see cref="Format"/>: a right answer in a badly formed completion still counts here.
    /// </summary>
    public static double Accuracy(string completion, decimal expected) =>
        Answer(completion) is { } text && decimal.TryParse(text, Numbers, CultureInfo.InvariantCulture, out var value) && value == expected ? 1 : 0;

    /// <summary>The text between the first <c>&lt;answer&gt;</c> and the <c>&lt;/answer&gt;</c> after it, trimmed; null if absent.</summary>
    public static string? Answer(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var open = completion.IndexOf(R1Format.AnswerOpen, StringComparison.Ordinal);
        if (open < 0) return null;
        var start = open + R1Format.AnswerOpen.Length;
        var close = completion.IndexOf(R1Format.AnswerClose, start, StringComparison.Ordinal);
        return close < 0 ? null : completion[start..close].Trim();
    }
}
