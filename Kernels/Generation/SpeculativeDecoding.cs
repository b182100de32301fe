using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// Greedy MTP speculative decoding (V3 §5.4.3 uses its depth-1 module this way). Each row keeps its main cache of
/// L tokens, the pending token t_L (the main model's greedy choice, already emitted, not yet cached) and a draft
/// d for t_{L+1} from the first MTP module. One round feeds [t_L, d] at positions [L, L+1] to the main model in one
/// pass over the cache: if its greedy choice after t_L is d, d is kept and its choice after d is the new pending
/// token (two tokens for one pass), else its choice after t_L is (one token) and the cache is rolled back to L+1 —
/// rolling back a latent cache is setting the row's length. Then the MTP module reads the main hidden states of the
/// positions just cached, with the embeddings of the tokens one place later, extends its own latent cache and
/// drafts again from the last one. Every emitted token is the main model's greedy choice given the tokens before
/// it, so the output is plain greedy decoding's. Only the first MTP module drafts (one token a round); deeper
/// modules would chain on its draft.
/// </summary>
internal static class SpeculativeDecoding
{
    /// <summary>Decodes greedily into <paramref name="trackers"/>; returns (drafted, accepted, main passes).</summary>
    public static (long Drafted, long Accepted, long Passes) Run(LatentDecoder decoder, IReadOnlyList<int[]> prompts, CompletionTracker[] trackers)
    {
        var rows = prompts.Count;
        var longest = prompts.Max(p => p.Length);
        var capacity = longest + trackers[0].MaxNewTokens + 2;
        var device = decoder.Device;
        using var cache = decoder.NewCache(rows, capacity);
        using var draftCache = decoder.NewDraftCache(1, rows, capacity);
        var lengths = prompts.Select(p => (long)p.Length).ToArray();
        var pending = new long[rows];
        var draft = new long[rows];

        using (var scope = NewDisposeScope())
        {
            var (hidden, logits) = decoder.Forward(DecodeTensors.Padded(prompts, longest, device), DecodeTensors.Positions(rows, longest, device), cache);
            var last = DecodeTensors.Rows(logits, lengths.Select(l => l - 1).ToArray());
            var shifted = new long[rows * longest];
            for (var r = 0; r < rows; r++)
            {
                cache.SetLength(r, lengths[r]);
                pending[r] = TokenSampler.Greedy(last[r]);
                trackers[r].Add((int)pending[r]);
                for (var i = 0; i + 1 < prompts[r].Length; i++) shifted[r * longest + i] = prompts[r][i + 1];
                shifted[r * longest + prompts[r].Length - 1] = pending[r];
            }
            var (_, draftLogits) = decoder.Draft(1, hidden, DecodeTensors.Matrix(shifted, rows, device), DecodeTensors.Positions(rows, longest, device), draftCache);
            var drafts = DecodeTensors.Rows(draftLogits, lengths.Select(l => l - 1).ToArray());
            for (var r = 0; r < rows; r++)
            {
                draftCache.SetLength(r, lengths[r]);
                draft[r] = TokenSampler.Greedy(drafts[r]);
            }
        }

        long drafted = 0, accepted = 0, passes = 1;
        while (!trackers.All(t => t.Done))
        {
            using var scope = NewDisposeScope();
            var fed = new long[rows * 2];
            var positions = new long[rows * 2];
            for (var r = 0; r < rows; r++)
            {
                fed[2 * r] = pending[r];
                fed[2 * r + 1] = draft[r];
                // A finished row's cache is no longer read: its (ignored) pass goes to positions 0 and 1.
                var at = trackers[r].Done ? 0 : lengths[r];
                positions[2 * r] = at;
                positions[2 * r + 1] = at + 1;
            }
            var positionTensor = DecodeTensors.Matrix(positions, rows, device);
            var (hidden, logits) = decoder.Forward(DecodeTensors.Matrix(fed, rows, device), positionTensor, cache);
            passes++;
            var afterPending = DecodeTensors.Rows(logits, new long[rows]);
            var afterDraft = DecodeTensors.Rows(logits, Enumerable.Repeat(1L, rows).ToArray());

            var shifted = new long[rows * 2];
            var readAt = new long[rows];
            for (var r = 0; r < rows; r++)
            {
                if (trackers[r].Done) continue;
                drafted++;
                var verified = TokenSampler.Greedy(afterPending[r]);
                if (verified == draft[r])
                {
                    accepted++;
                    var next = TokenSampler.Greedy(afterDraft[r]);
                    trackers[r].Add((int)draft[r]);
                    trackers[r].Add(next);
                    shifted[2 * r] = draft[r];
                    shifted[2 * r + 1] = next;
                    pending[r] = next;
                    readAt[r] = 1;
                    lengths[r] += 2;
                }
                else
                {
                    trackers[r].Add(verified);
                    shifted[2 * r] = verified;
                    pending[r] = verified;
                    lengths[r] += 1; // the draft's slot L+1 is rolled back: past the row's length, masked, overwritten next round
                }
                cache.SetLength(r, lengths[r]);
            }
            if (trackers.All(t => t.Done)) break;

            var (_, draftLogits) = decoder.Draft(1, hidden, DecodeTensors.Matrix(shifted, rows, device), positionTensor, draftCache);
            var drafts = DecodeTensors.Rows(draftLogits, readAt);
            for (var r = 0; r < rows; r++)
            {
                if (trackers[r].Done) continue;
                draftCache.SetLength(r, lengths[r]);
                draft[r] = TokenSampler.Greedy(drafts[r]);
            }
        }
        return (drafted, accepted, passes);
    }
}
