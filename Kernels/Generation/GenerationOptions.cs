namespace Orchestrator.Kernels.Generation;

/// <summary>How to decode: length, sampling, stops, and which path (latent cache, full recomputation, MTP speculation).</summary>
public sealed record GenerationOptions
{
    /// <summary>New tokens per prompt at most.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Softmax temperature; 0 is greedy (the first highest logit).</summary>
    public double Temperature { get; init; }

    /// <summary>Nucleus sampling: keep the fewest most likely tokens whose probability reaches this (0, 1].</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seed of the sampling streams; row i draws from its own stream (seed, i), so a batch samples as its rows would alone.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// The stream of the first row: row i draws from stream (seed, <see cref="FirstStream"/> + i). A rank generating rows
    /// [k, k + n) of a batch split over ranks passes k, so its rows sample as they would in the whole batch.
    /// </summary>
    public long FirstStream { get; init; }

    /// <summary>
    /// The ranks whose model calls are collective (an expert-parallel model: the MoE forward exchanges tokens), or null.
    /// With it every rank makes the same number of model calls: the decode loop ends when every rank's rows are done
    /// (one all-gather of a flag per step); a rank whose rows are all done takes its ignored steps meanwhile.
    /// </summary>
    public Distributed.ICollective? Lockstep { get; init; }

    /// <summary>Texts that end a completion (cut before the first occurrence); needs a tokenizer.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Decode with the latent KV cache (true) or recompute the whole sequence for every token (false: the reference).</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>Draft with the model's MTP module and verify with the main model (greedy only, with the cache).</summary>
    public bool Speculative { get; init; }

    /// <summary>The problems of these options, each naming its field; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MaxNewTokens <= 0) problems.Add($"max_tokens: must be at least 1 (got {MaxNewTokens})");
        if (!double.IsFinite(Temperature) || Temperature < 0) problems.Add($"temperature: must be 0 (greedy) or positive (got {Temperature})");
        if (!double.IsFinite(TopP) || TopP <= 0 || TopP > 1) problems.Add($"top_p: must be in (0, 1] (got {TopP})");
        if (Stop.Any(string.IsNullOrEmpty)) problems.Add("stop: a stop string is empty");
        if (Speculative && Temperature != 0) problems.Add("speculative: needs temperature 0 (greedy verification)");
        if (Speculative && !UseCache) problems.Add("speculative: needs the latent cache (verification runs over it)");
        if (Speculative && Lockstep is not null) problems.Add("speculative: not in lockstep over expert-parallel ranks (its passes per step vary by row)");
        if (FirstStream < 0) problems.Add($"first_stream: must be 0 or more (got {FirstStream})");
        return problems;
    }
}
