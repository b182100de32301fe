using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// Greedy MTP speculative decoding with the model's D MTP modules (V3 §5.4.3 uses its depth-1 module this way). A row
/// keeps its main cache of L tokens, the pending token t_L (the main model's greedy choice, already emitted, not yet
/// cached) and drafts d_1..d_D for t_{L+1}..t_{L+D}: MTP module k, at position L−1, reads module k−1's hidden state
/// there (the main model's for k = 1) and the embedding of d_{k−1} (of t_L for k = 1), and predicts t_{L+k}. One round
/// feeds [t_L, d_1..d_D] at positions L..L+D to the main model in one pass over the cache; its greedy choices
/// g_0..g_D verify the drafts: the longest prefix with d_i = g_{i−1} is kept and g_a follows it (a + 1 tokens for one
/// pass), and the cache is rolled back past the first rejection — for a latent cache, the row's new length. Every
/// emitted token is the main model's greedy choice given the tokens before it, so the output is plain greedy
/// decoding's. Then each MTP module extends its own latent cache over the positions whose inputs changed, in depth
/// order, and drafts again from the last one.
/// </summary>
/// <remarks>
/// Attention masks by position, not by a row's length, so every pass rewrites each cache from the row's committed
/// length up to its own queries: slots past the committed length (a rejected draft's, a padding column's) are
/// overwritten before anything reads them. MTP module k's position j is committed once t_{j+k} is (j ≤ L − k).
/// </remarks>
internal static class SpeculativeDecoding
{
    /// <summary>Decodes greedily into <paramref name="trackers"/>; returns (drafted, accepted, main passes).</summary>
    public static (long Drafted, long Accepted, long Passes) Run(LatentDecoder decoder, IReadOnlyList<int[]> prompts, CompletionTracker[] trackers)
    {
        using var state = new SpeculativeState(decoder, prompts, trackers[0].MaxNewTokens);
        var rows = prompts.Count;
        var depth = decoder.MtpDepth;
        var device = decoder.Device;
        using (var scope = NewDisposeScope())
        {
            var longest = prompts.Max(p => p.Length);
            var positions = DecodeTensors.Positions(rows, longest, device);
            var (hidden, logits) = decoder.Forward(DecodeTensors.Padded(prompts, longest, device), positions, state.Cache);
            state.KeepMainHidden(hidden, positions);
            var last = DecodeTensors.Rows(logits, prompts.Select(p => p.Length - 1L).ToArray());
            for (var r = 0; r < rows; r++)
            {
                state.SetLength(r, prompts[r].Length);
                var first = TokenSampler.Greedy(last[r]);
                trackers[r].Add(first);
                state.History[r].Add(first);
            }
            Draft(decoder, state, trackers);
        }

        long drafted = 0, accepted = 0, passes = 1;
        while (!trackers.All(t => t.Done))
        {
            using var scope = NewDisposeScope();
            var fed = new long[rows * (depth + 1)];
            var at = new long[rows * (depth + 1)];
            for (var r = 0; r < rows; r++)
            {
                // A finished row's caches are no longer read: its (ignored) pass goes to positions 0..D.
                var start = trackers[r].Done ? 0 : state.Lengths[r];
                fed[r * (depth + 1)] = state.History[r][^1];
                for (var i = 0; i <= depth; i++) at[r * (depth + 1) + i] = start + i;
                for (var i = 0; i < depth; i++) fed[r * (depth + 1) + i + 1] = state.Drafts[r][i];
            }
            var positions = DecodeTensors.Matrix(at, rows, device);
            var (hidden, logits) = decoder.Forward(DecodeTensors.Matrix(fed, rows, device), positions, state.Cache);
            passes++;
            state.KeepMainHidden(hidden, positions);
            var choices = Enumerable.Range(0, depth + 1).Select(i => DecodeTensors.Rows(logits, Enumerable.Repeat((long)i, rows).ToArray())).ToArray();
            for (var r = 0; r < rows; r++)
            {
                if (trackers[r].Done) continue;
                drafted += depth;
                var kept = 0;
                while (kept < depth && state.Drafts[r][kept] == TokenSampler.Greedy(choices[kept][r])) kept++;
                accepted += kept;
                var emitted = state.Drafts[r].Take(kept).Append(TokenSampler.Greedy(choices[kept][r])).ToArray();
                foreach (var token in emitted)
                {
                    trackers[r].Add((int)token);
                    state.History[r].Add(token);
                }
                state.SetLength(r, state.Lengths[r] + emitted.Length);
            }
            if (trackers.All(t => t.Done)) break;
            Draft(decoder, state, trackers);
        }
        return (drafted, accepted, passes);
    }

    /// <summary>Runs MTP modules 1..D over each row's uncommitted positions and takes their drafts at the last one.</summary>
    private static void Draft(LatentDecoder decoder, SpeculativeState state, CompletionTracker[] trackers)
    {
        var rows = trackers.Length;
        for (var k = 1; k <= decoder.MtpDepth; k++)
        {
            using var scope = NewDisposeScope();
            var starts = Enumerable.Range(0, rows).Select(r => trackers[r].Done ? 0 : state.Committed[k - 1][r]).ToArray();
            var counts = Enumerable.Range(0, rows).Select(r => trackers[r].Done ? 1 : state.Lengths[r] - starts[r]).ToArray();
            var width = (int)counts.Max();
            var at = new long[rows * width];
            var tokens = new long[rows * width];
            for (var r = 0; r < rows; r++)
            {
                var history = state.History[r];
                for (var j = 0; j < width; j++)
                {
                    var position = starts[r] + j;
                    at[r * width + j] = position;
                    if (j >= counts[r]) continue; // a padding column: past the row's last position, rewritten before it is read
                    var target = position + k; // module k at position j reads the embedding of t_{j+k}
                    tokens[r * width + j] = target < history.Count ? history[(int)target] : state.Drafts[r][target - history.Count];
                }
            }
            var positions = DecodeTensors.Matrix(at, rows, decoder.Device);
            var (hidden, logits) = decoder.Draft(k, state.HiddenAt(k - 1, positions), DecodeTensors.Matrix(tokens, rows, decoder.Device), positions, state.DraftCaches[k - 1]);
            if (k < decoder.MtpDepth) state.KeepHidden(k, hidden, positions);
            var drafts = DecodeTensors.Rows(logits, counts.Select(c => c - 1).ToArray());
            for (var r = 0; r < rows; r++)
            {
                if (trackers[r].Done) continue;
                state.Drafts[r][k - 1] = TokenSampler.Greedy(drafts[r]);
                state.Commit(k, r, state.Lengths[r] - k + 1);
            }
        }
    }
}
