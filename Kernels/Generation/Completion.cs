namespace Orchestrator.Kernels.Generation;

/// <summary>Why a completion ended.</summary>
public enum FinishReason
{
    /// <summary>It reached the maximum of new tokens.</summary>
    Length,
    /// <summary>Its text reached a stop string.</summary>
    Stop,
    /// <summary>The model produced the tokenizer's end-of-text token.</summary>
    EndOfText,
}

/// <summary>
/// One prompt's completion: the new tokens (up to and including the one that completed a stop string or was the
/// end-of-text token) and, with a tokenizer, their text (cut before the stop string, without the end-of-text marker).
/// </summary>
public sealed record Completion(IReadOnlyList<int> Tokens, string? Text, FinishReason Finish);

/// <summary>What a generation call produced and what it cost.</summary>
/// <param name="Completions">One per prompt, in prompt order.</param>
/// <param name="NewTokens">Tokens generated over all rows (what tokens/s counts).</param>
/// <param name="Elapsed">Wall time of prefill and decoding (tokenizing excluded).</param>
/// <param name="Drafted">MTP drafts proposed (speculative decoding; 0 otherwise).</param>
/// <param name="Accepted">Drafts the main model confirmed.</param>
/// <param name="MainPasses">Forward passes of the main model (prefill included).</param>
public sealed record GenerationResult(IReadOnlyList<Completion> Completions, long NewTokens, TimeSpan Elapsed, long Drafted, long Accepted, long MainPasses)
{
    /// <summary>Generated tokens per second of wall time.</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? NewTokens / Elapsed.TotalSeconds : 0;

    /// <summary>Accepted ÷ drafted, or null when nothing was drafted.</summary>
    public double? AcceptanceRate => Drafted > 0 ? (double)Accepted / Drafted : null;
}
