using System.Diagnostics;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// Autoregressive decoding of a batch of prompts of different lengths with a <see cref="DeepSeekModel"/>. Prompts
/// are right-padded: every row's tokens sit at positions 0, 1, … of its own (so RoPE positions are the training
/// ones), causal masking keeps the padding after a prompt out of its attention, and each row's new token goes to its
/// own next slot. Three paths: the latent cache (prefill, then one token a step), full recomputation (the training
/// forward over the whole sequence for every token: the reference), and MTP speculative decoding
/// (<see cref="SpeculativeDecoding"/>).
/// </summary>
public sealed class TextGenerator : IDisposable
{
    private readonly DeepSeekModel _model;
    private readonly ITextTokenizer? _tokenizer;
    private readonly LatentDecoder _decoder;

    /// <summary>Decodes with <paramref name="model"/>; <paramref name="tokenizer"/> (optional) gives text, stop strings and the end-of-text stop.</summary>
    public TextGenerator(DeepSeekModel model, ITextTokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (tokenizer is not null && tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"tokenizer '{tokenizer.Name}' has {tokenizer.VocabSize} ids, more than model.vocab_size ({model.Config.VocabSize})", nameof(tokenizer));
        _model = model;
        _tokenizer = tokenizer;
        _decoder = new LatentDecoder(model);
    }

    /// <summary>The decode-time view of the model (its caches and passes).</summary>
    public LatentDecoder Decoder => _decoder;

    /// <summary>Tokenizes <paramref name="prompts"/> and completes them.</summary>
    public GenerationResult Generate(IReadOnlyList<string> prompts, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var tokenizer = _tokenizer ?? throw new InvalidOperationException("text prompts need a tokenizer");
        return Generate(prompts.Select(p => tokenizer.Encode(p)).ToArray(), options);
    }

    /// <summary>Completes token prompts; <paramref name="options"/> choose the path and the sampling.</summary>
    /// <exception cref="ArgumentException">A prompt or an option is unusable; the message names it.</exception>
    public GenerationResult Generate(IReadOnlyList<int[]> prompts, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(prompts, options);
        var trackers = prompts.Select(_ => new CompletionTracker(options.MaxNewTokens, _tokenizer, options.Stop)).ToArray();
        var streams = Enumerable.Range(0, prompts.Count).Select(i => SplitMix64.Split(options.Seed, (ulong)(options.FirstStream + i))).ToArray();
        var clock = Stopwatch.StartNew();
        var (drafted, accepted, passes) = options.Speculative
            ? SpeculativeDecoding.Run(_decoder, prompts, trackers)
            : options.UseCache ? (0L, 0L, Cached(prompts, options, trackers, streams)) : (0L, 0L, Recomputed(prompts, options, trackers, streams));
        clock.Stop();
        var completions = trackers.Select(t => t.ToCompletion()).ToArray();
        return new GenerationResult(completions, completions.Sum(c => (long)c.Tokens.Count), clock.Elapsed, drafted, accepted, passes);
    }

    private long Cached(IReadOnlyList<int[]> prompts, GenerationOptions options, CompletionTracker[] trackers, SplitMix64[] streams)
    {
        var rows = prompts.Count;
        var longest = prompts.Max(p => p.Length);
        using var cache = _decoder.NewCache(rows, longest + options.MaxNewTokens);
        var lengths = prompts.Select(p => (long)p.Length).ToArray();
        float[][] last;
        using (var scope = NewDisposeScope())
        {
            var (_, logits) = _decoder.Forward(DecodeTensors.Padded(prompts, longest, _model.Device), DecodeTensors.Positions(rows, longest, _model.Device), cache);
            last = DecodeTensors.Rows(logits, lengths.Select(l => l - 1).ToArray());
        }
        for (var r = 0; r < rows; r++) cache.SetLength(r, lengths[r]);
        long passes = 1;
        while (true)
        {
            var next = new long[rows];
            for (var r = 0; r < rows; r++)
                if (!trackers[r].Done && trackers[r].Add(TokenSampler.Choose(last[r], options, ref streams[r]))) next[r] = trackers[r].Tokens[^1];
            if (EveryRankDone(trackers.All(t => t.Done), options)) return passes;
            // A finished row's cache is no longer read: it takes its (ignored) step at position 0.
            var positions = Enumerable.Range(0, rows).Select(r => trackers[r].Done ? 0 : lengths[r]).ToArray();
            using var scope = NewDisposeScope();
            var (_, logits) = _decoder.Forward(DecodeTensors.Column(next, _model.Device), DecodeTensors.Column(positions, _model.Device), cache);
            passes++;
            last = DecodeTensors.Rows(logits, new long[rows]);
            for (var r = 0; r < rows; r++)
                if (!trackers[r].Done) cache.SetLength(r, ++lengths[r]);
        }
    }

    private long Recomputed(IReadOnlyList<int[]> prompts, GenerationOptions options, CompletionTracker[] trackers, SplitMix64[] streams)
    {
        var rows = prompts.Count;
        var sequences = prompts.Select(p => p.ToList()).ToArray();
        using var recorder = _model.NewRecorder();
        long passes = 0;
        while (true)
        {
            float[][] last;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var width = sequences.Max(s => s.Count);
                var logits = _model.Logits(DecodeTensors.Padded(sequences.Select(s => s.ToArray()).ToArray(), width, _model.Device), recorder);
                recorder.ResetLoads();
                passes++;
                last = DecodeTensors.Rows(logits, sequences.Select(s => (long)s.Count - 1).ToArray());
            }
            for (var r = 0; r < rows; r++)
                if (!trackers[r].Done && trackers[r].Add(TokenSampler.Choose(last[r], options, ref streams[r]))) sequences[r].Add(trackers[r].Tokens[^1]);
            if (EveryRankDone(trackers.All(t => t.Done), options)) return passes;
        }
    }

    /// <summary>Whether decoding ends: this rank's rows are done and, in lockstep, every rank's (all ranks make the call each step).</summary>
    private static bool EveryRankDone(bool done, GenerationOptions options)
    {
        if (options.Lockstep is not { } ranks) return done;
        return ranks.AllGather([done ? 1L : 0L]).All(flag => flag[0] == 1);
    }

    private void Validate(IReadOnlyList<int[]> prompts, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var problems = options.Problems().ToList();
        if (options.Stop.Count > 0 && _tokenizer is null) problems.Add("stop: stop strings need a tokenizer");
        if (options.Speculative && _decoder.MtpDepth == 0) problems.Add("speculative: the model has no MTP module (model.mtp_depth is 0)");
        if (prompts.Count == 0) problems.Add("prompts: none given");
        var config = _model.Config;
        for (var i = 0; i < prompts.Count; i++)
        {
            var prompt = prompts[i];
            if (prompt is null || prompt.Length == 0) { problems.Add($"prompts[{i}]: empty"); continue; }
            var bad = Array.FindIndex(prompt, t => t < 0 || t >= config.VocabSize);
            if (bad >= 0) problems.Add($"prompts[{i}]: token {prompt[bad]} at {bad} is outside the vocabulary [0, {config.VocabSize})");
            var drafts = options.Speculative ? _decoder.MtpDepth : 0; // verification runs up to D positions ahead
            if (prompt.Length + (long)options.MaxNewTokens + drafts > config.MaxSequenceLength)
                problems.Add($"max_tokens: prompts[{i}] of {prompt.Length} tokens + {options.MaxNewTokens} new tokens{(drafts > 0 ? $" + {drafts} drafted" : "")} exceeds model.max_seq_len ({config.MaxSequenceLength})");
        }
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
    }

    public void Dispose() => _decoder.Dispose();
}
