namespace Orchestrator.Kernels.Data;

/// <summary>The order in which one epoch visits the dataset's windows.</summary>
internal static class WindowPermutation
{
    /// <summary>
    /// A Fisher–Yates shuffle of [0, <paramref name="windowCount"/>) driven by the (seed, epoch)
    /// sub-stream, so every epoch has its own order and any rank can rebuild it alone.
    /// </summary>
    public static int[] ForEpoch(ulong seed, long epoch, int windowCount)
    {
        var order = new int[windowCount];
        for (var i = 0; i < windowCount; i++)
        {
            order[i] = i;
        }

        var random = SplitMix64.Split(seed, (ulong)epoch);
        for (var i = windowCount - 1; i > 0; i--)
        {
            var j = (int)random.NextBelow((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
