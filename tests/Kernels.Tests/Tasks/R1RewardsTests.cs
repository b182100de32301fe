using Orchestrator.Kernels.Tasks;

namespace Orchestrator.Kernels.Tests.Tasks;

public sealed class R1RewardsTests
{
    [Theory]
    [InlineData("<think>345 + 78 = 423</think><answer>423</answer>", 1)]
    [InlineData("  <think>a</think>\n<answer>423</answer>\n", 1)] // white space around and between is allowed
    [InlineData("<think></think><answer></answer>", 1)] // the format holds even when empty
    [InlineData("<answer>423</answer>", 0)] // no think part
    [InlineData("<think>a</think>", 0)] // no answer part
    [InlineData("<answer>423</answer><think>a</think>", 0)] // out of order
    [InlineData("<think>a</think><answer>423</answer> so 423", 0)] // something after </answer>
    [InlineData("Sure! <think>a</think><answer>423</answer>", 0)] // something before <think>
    [InlineData("<think>a</think>so<answer>423</answer>", 0)] // text between the parts
    [InlineData("<think>a</think><answer>1</answer><answer>2</answer>", 0)] // a tag twice
    [InlineData("<think>a<answer>4</think></answer>", 0)] // nested, not in order
    [InlineData("<think>a</think><answer>423", 0)] // unclosed
    public void Format_RewardsTagsInOrderAndNothingAfter(string completion, double expected) =>
        Assert.Equal(expected, R1Rewards.Format(completion));

    [Theory]
    [InlineData("<think>x</think><answer>423</answer>", 423, 1)]
    [InlineData("<think>x</think><answer> 423 </answer>", 423, 1)] // trimmed
    [InlineData("<think>x</think><answer>423.0</answer>", 423, 1)] // the same number
    [InlineData("<think>x</think><answer>-17</answer>", -17, 1)]
    [InlineData("<think>x</think><answer>424</answer>", 423, 0)]
    [InlineData("<think>x</think><answer>423 apples</answer>", 423, 0)] // not a number
    [InlineData("<think>x</think><answer>4,230</answer>", 4230, 0)] // no thousands separators
    [InlineData("<think>x</think><answer></answer>", 0, 0)] // empty is not zero
    [InlineData("<think>the answer is 423</think>", 423, 0)] // no answer tag
    [InlineData("<answer>423</answer> trailing", 423, 1)] // accuracy does not judge the format
    public void Accuracy_ComparesTheAnswerAsANumberExactly(string completion, double expected, double reward) =>
        Assert.Equal(reward, R1Rewards.Accuracy(completion, (decimal)expected));

    [Fact]
    public void GeneratedResponses_GetBothRewards()
    {
        var (train, _) = new ArithmeticTask().Splits(3, 50, 0);
        Assert.All(train, p =>
        {
            Assert.Equal(1, R1Rewards.Format(p.Response));
            Assert.Equal(1, R1Rewards.Accuracy(p.Response, p.Answer));
            Assert.Equal(0, R1Rewards.Accuracy(p.Response, p.Answer + 1));
        });
    }
}
