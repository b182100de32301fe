using System.Globalization;
using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Tasks;

/// <summary>
/// A seeded generator of multi-digit arithmetic word problems (addition, subtraction, multiplication) with exact
/// numeric answers and a worked-out reasoning that splits the second operand by place value
/// (<c>345 + 78 = 345 + 70 + 8 = 415 + 8 = 423</c>). The same seed and sizes give the same problems, in order.
/// </summary>
public sealed class ArithmeticTask
{
    private static readonly string[] Names = ["Ana", "Ben", "Kim", "Leo", "Mia", "Raj", "Sam", "Zoe"];
    private static readonly string[] Items = ["apple", "coin", "book", "card", "shell", "stamp"];

    /// <summary>The operations a task draws from, in the order the default task draws them.</summary>
    public static IReadOnlyList<char> AllOperations => Symbols;

    private static readonly char[] Symbols = ['+', '-', '*'];

    /// <summary>
    /// A task whose operands have <paramref name="minDigits"/> to <paramref name="maxDigits"/> digits (1 ≤ min ≤ max ≤ 9),
    /// drawing its operations from <paramref name="operations"/> (some of +, -, *; default all three: the same problems
    /// as a task made without them).
    /// </summary>
    public ArithmeticTask(int minDigits = 2, int maxDigits = 3, IReadOnlyCollection<char>? operations = null)
    {
        if (minDigits < 1 || maxDigits < minDigits || maxDigits > 9)
            throw new ArgumentOutOfRangeException(nameof(maxDigits), $"digits must satisfy 1 <= min ({minDigits}) <= max ({maxDigits}) <= 9");
        (MinDigits, MaxDigits) = (minDigits, maxDigits);
        operations ??= [.. AllOperations];
        if (operations.Count == 0 || operations.Any(o => !AllOperations.Contains(o)) || operations.Distinct().Count() != operations.Count)
            throw new ArgumentException($"operations must be distinct ones of +, -, * (got '{string.Join(",", operations)}')", nameof(operations));
        Operations = [.. AllOperations.Where(operations.Contains)];
    }

    /// <summary>The operations drawn from, in +, -, * order.</summary>
    public IReadOnlyList<char> Operations { get; }

    /// <summary>Fewest digits of an operand.</summary>
    public int MinDigits { get; }

    /// <summary>Most digits of an operand.</summary>
    public int MaxDigits { get; }

    /// <summary>
    /// <paramref name="train"/> and then <paramref name="test"/> distinct problems from <paramref name="seed"/>'s stream:
    /// no arithmetic (operands and operator) occurs twice, so the held-out split shares nothing with the training one.
    /// </summary>
    public (IReadOnlyList<ArithmeticProblem> Train, IReadOnlyList<ArithmeticProblem> Test) Splits(ulong seed, int train, int test)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(train);
        ArgumentOutOfRangeException.ThrowIfNegative(test);
        var random = new SplitMix64(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<ArithmeticProblem>(train + test);
        var misses = 0;
        while (problems.Count < train + test)
        {
            var problem = Draw(ref random);
            if (seen.Add(problem.Key)) { problems.Add(problem); misses = 0; continue; }
            if (++misses > 10_000)
                throw new ArgumentOutOfRangeException(nameof(train), $"{MinDigits}- to {MaxDigits}-digit operands give fewer than {train + test} distinct problems");
        }
        return (problems.GetRange(0, train), problems.GetRange(train, test));
    }

    private ArithmeticProblem Draw(ref SplitMix64 random)
    {
        var operation = Array.IndexOf(Symbols, Operations[(int)random.NextBelow((ulong)Operations.Count)]);
        var name = Names[random.NextBelow((ulong)Names.Length)];
        var item = Items[random.NextBelow((ulong)Items.Length)];
        var a = Operand(ref random);
        var b = Operand(ref random);
        if (operation == 1 && b > a) (a, b) = (b, a); // answers stay non-negative
        var (question, symbol, answer) = operation switch
        {
            0 => ($"{name} has {a} {item}s and gets {b} more. How many {item}s now?", "+", a + b),
            1 => ($"{name} has {a} {item}s and gives away {b}. How many {item}s are left?", "-", a - b),
            _ => ($"{name} buys {b} boxes of {a} {item}s. How many {item}s in all?", "*", a * b),
        };
        return new ArithmeticProblem(question, answer, Reasoning(a, symbol, b, answer), $"{a}{symbol}{b}");
    }

    private long Operand(ref SplitMix64 random)
    {
        var digits = MinDigits + (int)random.NextBelow((ulong)(MaxDigits - MinDigits + 1));
        var low = digits == 1 ? 0 : Pow10(digits - 1);
        return low + (long)random.NextBelow((ulong)(Pow10(digits) - low));
    }

    /// <summary>The worked-out reasoning of <c>a symbol b</c> (+, −, *): the second operand split by place value, its parts applied one at a time.</summary>
    public static string Reasoning(long a, string symbol, long b, long answer)
    {
        var parts = PlaceValues(b);
        var text = string.Create(CultureInfo.InvariantCulture, $"{a} {symbol} {b}");
        if (parts.Count < 2) return text + string.Create(CultureInfo.InvariantCulture, $" = {answer}");
        if (symbol == "*")
        {
            var products = parts.Select(p => a * p).ToArray();
            return text + " = " + string.Join(" + ", parts.Select(p => string.Create(CultureInfo.InvariantCulture, $"{a} * {p}")))
                + " = " + string.Join(" + ", products.Select(p => p.ToString(CultureInfo.InvariantCulture)))
                + string.Create(CultureInfo.InvariantCulture, $" = {answer}");
        }
        text += " = " + a.ToString(CultureInfo.InvariantCulture) + string.Concat(parts.Select(p => $" {symbol} {p.ToString(CultureInfo.InvariantCulture)}"));
        var running = a;
        for (var i = 0; i < parts.Count; i++)
        {
            running = symbol == "+" ? running + parts[i] : running - parts[i];
            text += " = " + running.ToString(CultureInfo.InvariantCulture) + string.Concat(parts.Skip(i + 1).Select(p => $" {symbol} {p.ToString(CultureInfo.InvariantCulture)}"));
        }
        return text;
    }

    private static List<long> PlaceValues(long value)
    {
        var parts = new List<long>();
        for (long place = 1; place <= value; place *= 10)
        {
            var digit = value / place % 10;
            if (digit != 0) parts.Insert(0, digit * place);
        }
        if (parts.Count == 0) parts.Add(0);
        return parts;
    }

    private static long Pow10(int digits)
    {
        long result = 1;
        for (var i = 0; i < digits; i++) result *= 10;
        return result;
    }
}
