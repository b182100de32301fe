using System.Text;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// A small probabilistic grammar of English-like sentences with facts a tiny model can learn:
/// exact arithmetic, counting, fixed category facts, and subject–verb–object agreement.
/// </summary>
internal static class DemoSentences
{
    private static readonly string[] _numbers =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    ];

    // Each kind of creature eats only its own foods and lives in its own place, so the next word is
    // predictable from the subject: structure that a small model picks up within a few hundred steps.
    private static readonly (string Kind, string[] Members, string[] Foods, string Place)[] _kinds =
    [
        ("animal", ["cat", "dog", "fox", "wolf"], ["meat", "fish", "bones"], "forest"),
        ("bird", ["robin", "crow", "sparrow", "owl"], ["seeds", "worms", "berries"], "tree"),
        ("fish", ["trout", "salmon", "carp", "pike"], ["insects", "algae", "shrimp"], "river"),
    ];

    private static readonly string[] _adjectives = ["small", "old", "quick", "hungry", "quiet", "brown", "young"];

    private static readonly string[] _times = ["every morning", "at night", "in the spring", "after the rain", "each day"];

    /// <summary>Appends one sentence, ending with a space or newline, chosen by <paramref name="random"/>.</summary>
    public static void Append(StringBuilder text, ref SplitMix64 random)
    {
        switch (random.NextBelow(6))
        {
            case 0:
                {
                    var a = (int)random.NextBelow(11);
                    var b = (int)random.NextBelow(11);
                    text.Append(_numbers[a]).Append(" plus ").Append(_numbers[b]).Append(" is ").Append(_numbers[a + b]).Append(". ");
                    break;
                }

            case 1:
                {
                    var a = (int)random.NextBelow(21);
                    var b = (int)random.NextBelow((ulong)a + 1);
                    text.Append(_numbers[a]).Append(" minus ").Append(_numbers[b]).Append(" is ").Append(_numbers[a - b]).Append(". ");
                    break;
                }

            case 2:
                {
                    var start = (int)random.NextBelow(15);
                    var length = 3 + (int)random.NextBelow(4);
                    text.Append("counting:");
                    for (var i = start; i < start + length; i++)
                    {
                        text.Append(' ').Append(_numbers[i]);
                    }

                    text.Append(". ");
                    break;
                }

            case 3:
                {
                    var kind = Pick(_kinds, ref random);
                    text.Append("a ").Append(Pick(kind.Members, ref random)).Append(" is a kind of ").Append(kind.Kind)
                        .Append(" and lives in the ").Append(kind.Place).Append(". ");
                    break;
                }

            case 4:
                {
                    var kind = Pick(_kinds, ref random);
                    text.Append("the ").Append(Pick(_adjectives, ref random)).Append(' ').Append(Pick(kind.Members, ref random))
                        .Append(" eats ").Append(Pick(kind.Foods, ref random)).Append(' ').Append(Pick(_times, ref random)).Append(". ");
                    break;
                }

            default:
                // Paragraph break, so documents have a layout as well as words.
                text.Append('\n');
                break;
        }
    }

    private static T Pick<T>(T[] choices, ref SplitMix64 random) => choices[(int)random.NextBelow((ulong)choices.Length)];
}
