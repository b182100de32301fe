namespace Orchestrator.Grains.Resilience;

/// <summary>
/// How a failed call is tried again: after <see cref="FirstRetry"/>, each wait twice the last, up to
/// <see cref="LastRetry"/> (equal values give a constant wait); it gives up once the next wait would end
/// past <see cref="Patience"/> since the first attempt, or after <see cref="MaxAttempts"/> attempts.
/// A null limit means no limit of that kind. Bound from configuration like every other option.
/// </summary>
public sealed class BackoffOptions
{
    /// <summary>The wait before the second attempt.</summary>
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan LastRetry { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>How long, from the first attempt, the call is tried at all; null: until it succeeds.</summary>
    public TimeSpan? Patience { get; set; }

    /// <summary>How many attempts in all; null: no count limit.</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>The wait after attempt <paramref name="attempt"/> (0 = the first) failed.</summary>
    public TimeSpan DelayAfter(int attempt)
    {
        var ticks = FirstRetry.Ticks;
        for (var i = 0; i < attempt && ticks < LastRetry.Ticks; i++) ticks *= 2;
        return TimeSpan.FromTicks(Math.Min(ticks, LastRetry.Ticks));
    }

    /// <summary>Whether attempt <paramref name="attempt"/> (0 = the first), failed after <paramref name="elapsed"/>, is tried again.</summary>
    public bool Allows(int attempt, TimeSpan elapsed) =>
        (MaxAttempts is not { } most || attempt + 1 < most) && (Patience is not { } patience || elapsed + DelayAfter(attempt) <= patience);

    /// <summary>Refuses settings that cannot describe a retry, naming the setting.</summary>
    public void Validate(string section)
    {
        if (FirstRetry <= TimeSpan.Zero) throw new ArgumentException($"{section}:FirstRetry must be greater than 0 (got {FirstRetry})");
        if (LastRetry < FirstRetry) throw new ArgumentException($"{section}:LastRetry ({LastRetry}) must be at least FirstRetry ({FirstRetry})");
        if (Patience is { } p && p <= TimeSpan.Zero) throw new ArgumentException($"{section}:Patience must be greater than 0 (got {p})");
        if (MaxAttempts is { } n && n < 1) throw new ArgumentException($"{section}:MaxAttempts must be at least 1 (got {n})");
    }
}
