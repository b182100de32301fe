namespace Orchestrator.Grains.Checkpoints;

/// <summary>Which committed checkpoints a policy lets go: all but the newest <c>keep</c> and the multiples of <c>keep_every</c>.</summary>
public static class RetentionPolicy
{
    /// <summary>The steps of <paramref name="committed"/> that have expired, in ascending order.</summary>
    public static IReadOnlyList<long> Expired(IEnumerable<long> committed, CheckpointPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(committed);
        ArgumentNullException.ThrowIfNull(policy);
        var steps = committed.Distinct().Order().ToList();
        var newest = steps.TakeLast(Math.Max(1, policy.Keep)).ToHashSet();
        return steps.Where(s => !newest.Contains(s) && !(policy.KeepEvery > 0 && s % policy.KeepEvery == 0)).ToList();
    }
}
