using System.Globalization;

namespace Orchestrator.Kernels.Configuration;

/// <summary>The wording of whole-number refusals, shared by the config and job-spec readers.</summary>
public static class WholeNumbers
{
    /// <summary>True for a JSON number written as a whole number (digits, optional minus; no fraction or exponent).</summary>
    public static bool IsLiteral(string text)
    {
        var digits = text.StartsWith('-') ? text.AsSpan(1) : text.AsSpan();
        return digits.Length > 0 && !digits.ContainsAnyExceptInRange('0', '9');
    }

    /// <summary>"out of range: 2147483648 is not between -2147483648 and 2147483647".</summary>
    public static string OutOfRange<T>(string text, T min, T max) where T : IFormattable =>
        $"out of range: {text} is not between {min.ToString(null, CultureInfo.InvariantCulture)} and {max.ToString(null, CultureInfo.InvariantCulture)}";
}
