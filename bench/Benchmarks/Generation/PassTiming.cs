using System.Diagnostics;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Generation;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Generation;

/// <summary>
/// What one decoding pass costs at batch 1 after a 20-token prefill: the main model on one token (a plain greedy
/// step), on two (a depth-1 verification), and the MTP module on two (its draft pass); rounds interleaved, medians.
/// </summary>
internal static class PassTiming
{
    public sealed record Result(Stats MainOneTokenMs, Stats MainTwoTokensMs, Stats MtpTwoTokensMs);

    public static Result Measure(LatentDecoder decoder, int rounds)
    {
        const int prompt = 20;
        using var cache = decoder.NewCache(1, prompt + 2);
        using var draftCache = decoder.NewDraftCache(1, 1, prompt + 2);
        using var tokens = arange(prompt, dtype: ScalarType.Int64).add(97).unsqueeze(0);
        using var positions = arange(prompt, dtype: ScalarType.Int64).unsqueeze(0);
        using var one = tensor(new long[] { 101 }, [1, 1], ScalarType.Int64);
        using var two = tensor(new long[] { 101, 32 }, [1, 2], ScalarType.Int64);
        using var at1 = tensor(new long[] { prompt }, [1, 1], ScalarType.Int64);
        using var at2 = tensor(new long[] { prompt, prompt + 1 }, [1, 2], ScalarType.Int64);
        var (prefillHidden, prefillLogits) = decoder.Forward(tokens, positions, cache);
        prefillHidden.Dispose();
        prefillLogits.Dispose();
        var (hidden, logits) = decoder.Forward(two, at2, cache);
        logits.Dispose();

        var samples = new[] { new List<double>(), new List<double>(), new List<double>() };
        for (var round = 0; round <= rounds; round++)
        {
            var times = new[]
            {
                Time(() => decoder.Forward(one, at1, cache)),
                Time(() => decoder.Forward(two, at2, cache)),
                Time(() => decoder.Draft(1, hidden, two, at2, draftCache)),
            };
            if (round > 0) for (var i = 0; i < 3; i++) samples[i].Add(times[i]);
        }
        hidden.Dispose();
        return new Result(Stats.Of(samples[0]), Stats.Of(samples[1]), Stats.Of(samples[2]));
    }

    private static double Time(Func<(Tensor, Tensor)> pass)
    {
        var clock = Stopwatch.StartNew();
        var (a, b) = pass();
        _ = b.sum().item<float>(); // wait for the result (a no-op on the CPU, a sync on a GPU)
        clock.Stop();
        a.Dispose();
        b.Dispose();
        return clock.Elapsed.TotalMilliseconds;
    }
}
