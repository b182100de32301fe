using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Tests.Data;

public sealed class SplitMix64Tests
{
    [Fact]
    public void NextUInt64_MatchesReferenceSequenceForSeedZero()
    {
        // Pinned so that a change to the generator, which would reorder every dataset, fails loudly.
        var random = new SplitMix64(0);

        Assert.Equal(0xE220A8397B1DCDAFUL, random.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, random.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, random.NextUInt64());
    }

    [Fact]
    public void NextBelow_StaysInRangeAndHitsEveryValue()
    {
        var random = new SplitMix64(42);
        var seen = new int[7];
        for (var i = 0; i < 7000; i++)
        {
            seen[random.NextBelow(7)]++;
        }

        Assert.All(seen, count => Assert.InRange(count, 800, 1200));
    }

    [Fact]
    public void Split_GivesDifferentStreamsPerKey()
    {
        var a = SplitMix64.Split(1, 0);
        var b = SplitMix64.Split(1, 1);

        Assert.NotEqual(a.NextUInt64(), b.NextUInt64());
    }
}
