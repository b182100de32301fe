using System.Globalization;

namespace Orchestrator.Benchmarks.Training;

/// <summary>
/// γ over a run: <paramref name="Early"/> before <paramref name="SwitchStep"/>, <paramref name="Late"/>
/// from it on (0-based steps). Written <c>0.01</c> (constant) or <c>0.01@150:0.001</c>: a large γ
/// undoes the routing collapse of the first steps fast, a small one then oscillates less.
/// </summary>
internal sealed record GammaSchedule(double Early, long SwitchStep, double Late)
{
    /// <summary>A constant γ: no early phase.</summary>
    public bool Constant => SwitchStep == 0 || Early == Late;

    public override string ToString() => Constant
        ? Early.ToString("G", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{Early:G}@{SwitchStep}:{Late:G}");

    public static GammaSchedule Parse(string text)
    {
        var at = text.IndexOf('@');
        if (at < 0)
        {
            var gamma = double.Parse(text, CultureInfo.InvariantCulture);
            return new GammaSchedule(gamma, 0, gamma);
        }
        var colon = text.IndexOf(':', at);
        if (colon < 0) throw new FormatException($"'{text}': a schedule is written EARLY@STEP:LATE");
        return new GammaSchedule(
            double.Parse(text[..at], CultureInfo.InvariantCulture),
            long.Parse(text[(at + 1)..colon], CultureInfo.InvariantCulture),
            double.Parse(text[(colon + 1)..], CultureInfo.InvariantCulture));
    }
}
