using System.Text.Json;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Tests.Data;

namespace Orchestrator.Kernels.Tests.Tasks;

public sealed class ArithmeticTaskTests
{
    [Fact]
    public void Splits_AreSeededAndDoNotOverlap()
    {
        var task = new ArithmeticTask();
        var (train, test) = task.Splits(7, 400, 100);
        var (again, againTest) = task.Splits(7, 400, 100);
        var (other, _) = task.Splits(8, 400, 100);

        Assert.Equal(400, train.Count);
        Assert.Equal(100, test.Count);
        Assert.Equal(train, again);
        Assert.Equal(test, againTest);
        Assert.NotEqual(train.Select(p => p.Key), other.Select(p => p.Key));
        Assert.Empty(train.Select(p => p.Key).Intersect(test.Select(p => p.Key)));
        Assert.Equal(500, train.Concat(test).Select(p => p.Question).Distinct().Count());
    }

    [Fact]
    public void Problems_HaveMultiDigitOperandsAndCorrectWorkedAnswers()
    {
        var (train, _) = new ArithmeticTask(2, 3).Splits(11, 300, 0);
        Assert.Contains(train, p => p.Key.Contains('+'));
        Assert.Contains(train, p => p.Key.Contains('-'));
        Assert.Contains(train, p => p.Key.Contains('*'));
        foreach (var p in train)
        {
            var symbol = p.Key.First(c => c is '+' or '-' or '*');
            var operands = p.Key.Split(symbol).Select(long.Parse).ToArray();
            Assert.All(operands, o => Assert.InRange(o, 10, 999));
            var expected = symbol switch { '+' => operands[0] + operands[1], '-' => operands[0] - operands[1], _ => operands[0] * operands[1] };
            Assert.Equal(expected, p.Answer);
            Assert.True(p.Reasoning.EndsWith($"= {p.Answer}", StringComparison.Ordinal), p.Reasoning);
            Assert.Contains(operands[0].ToString(), p.Question, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ATaskOfSomeOperations_DrawsOnlyThose_AndAllThreeIsTheDefaultTask()
    {
        var (sums, _) = new ArithmeticTask(1, 2, ['+', '-']).Splits(3, 200, 0);
        Assert.All(sums, p => Assert.DoesNotContain('*', p.Key));
        Assert.Contains(sums, p => p.Key.Contains('+'));
        Assert.Contains(sums, p => p.Key.Contains('-'));
        Assert.All(new ArithmeticTask(1, 2, ['*']).Splits(3, 50, 0).Train, p => Assert.Contains('*', p.Key));
        var (defaultTrain, defaultTest) = new ArithmeticTask(1, 2).Splits(3, 100, 10);
        var (allTrain, allTest) = new ArithmeticTask(1, 2, ['*', '+', '-']).Splits(3, 100, 10);
        Assert.Equal(defaultTrain, allTrain);
        Assert.Equal(defaultTest, allTest);
    }

    [Theory]
    [InlineData("")]
    [InlineData("+/")]
    [InlineData("++")]
    public void OperationsOtherThanDistinctOnesOfTheThree_AreRefused(string operations)
    {
        var refused = Assert.Throws<ArgumentException>(() => new ArithmeticTask(1, 2, operations.ToCharArray()));
        Assert.Contains("operations must be distinct ones of +, -, *", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(345, "+", 78, 423, "345 + 78 = 345 + 70 + 8 = 415 + 8 = 423")]
    [InlineData(345, "-", 78, 267, "345 - 78 = 345 - 70 - 8 = 275 - 8 = 267")]
    [InlineData(345, "*", 12, 4140, "345 * 12 = 345 * 10 + 345 * 2 = 3450 + 690 = 4140")]
    [InlineData(40, "+", 30, 70, "40 + 30 = 70")]
    public void Reasoning_SplitsTheSecondOperandByPlaceValue(long a, string symbol, long b, long answer, string expected) =>
        Assert.Equal(expected, ArithmeticTask.Reasoning(a, symbol, b, answer));

    [Fact]
    public void Files_HoldPromptAnswerAndSftLines()
    {
        using var folder = new TempFolder();
        var (train, test) = new ArithmeticTask().Splits(5, 20, 10);
        ArithmeticFiles.Write(folder.Path, train, test);

        var prompts = ArithmeticFiles.ReadPrompts(folder.Combine(ArithmeticFiles.TestPrompts));
        Assert.Equal(test.Select(p => (p.Question, (decimal)p.Answer)), prompts);
        var sft = File.ReadAllLines(folder.Combine(ArithmeticFiles.TrainSft));
        Assert.Equal(20, sft.Length);
        using var first = JsonDocument.Parse(sft[0]);
        Assert.Equal(train[0].Question, first.RootElement.GetProperty("prompt").GetString());
        Assert.Equal($"<think>{train[0].Reasoning}</think><answer>{train[0].Answer}</answer>", first.RootElement.GetProperty("response").GetString());
        Assert.Equal(20, File.ReadAllLines(folder.Combine(ArithmeticFiles.TrainCorpus)).Count(l => l.StartsWith("User: ", StringComparison.Ordinal)));
    }
}
