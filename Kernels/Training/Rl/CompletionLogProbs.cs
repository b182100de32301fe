using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Rl;

/// <summary>
/// The per-token log-probabilities a model gives the tokens of completions after their prompts: each row is prompt +
/// completion, right-padded (causal attention keeps the padding out of every real token's view, and every row's
/// positions start at 0, as in training and generation), one forward of the main model; the log-softmax at position
/// t − 1 is read at token t. Only completion tokens are masked in: the prompt's own tokens are context, not actions.
/// </summary>
public static class CompletionLogProbs
{
    /// <summary>
    /// Log-probs [N, L] (grad through <paramref name="model"/> unless under <c>no_grad</c>) and mask [N, L] (1.0 on
    /// row i's completion tokens, in order from column 0) for N = <paramref name="prompts"/>.Count rows, L the longest
    /// completion. The routing biases steer the experts' choice as in training; they are not updated here.
    /// </summary>
    /// <exception cref="ArgumentException">Counts differ, a completion is empty, or a row exceeds model.max_seq_len.</exception>
    public static (Tensor LogProbs, Tensor Mask) Of(DeepSeekModel model, IReadOnlyList<int[]> prompts, IReadOnlyList<IReadOnlyList<int>> completions)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        if (prompts.Count != completions.Count) throw new ArgumentException($"{prompts.Count} prompts but {completions.Count} completions", nameof(completions));
        if (prompts.Count == 0) throw new ArgumentException("no rows", nameof(prompts));
        var rows = prompts.Count;
        var width = prompts.Zip(completions, (p, c) => p.Length + c.Count).Max();
        var longest = completions.Max(c => c.Count);
        for (var r = 0; r < rows; r++)
        {
            if (prompts[r].Length == 0) throw new ArgumentException($"row {r}: the prompt is empty", nameof(prompts));
            if (completions[r].Count == 0) throw new ArgumentException($"row {r}: the completion is empty", nameof(completions));
            if (prompts[r].Length + completions[r].Count > model.Config.MaxSequenceLength)
                throw new ArgumentException($"row {r}: prompt + completion = {prompts[r].Length + completions[r].Count} tokens, more than model.max_seq_len ({model.Config.MaxSequenceLength})", nameof(completions));
        }

        var tokens = new long[rows * width];
        var gather = new long[rows * longest]; // the column (position − 1) at which each completion token is predicted
        var targets = new long[rows * longest];
        var mask = new float[rows * longest];
        for (var r = 0; r < rows; r++)
        {
            var (prompt, completion) = (prompts[r], completions[r]);
            for (var t = 0; t < prompt.Length; t++) tokens[r * width + t] = prompt[t];
            for (var t = 0; t < completion.Count; t++)
            {
                tokens[r * width + prompt.Length + t] = completion[t];
                gather[r * longest + t] = prompt.Length + t - 1;
                targets[r * longest + t] = completion[t];
                mask[r * longest + t] = 1;
            }
        }

        using var scope = NewDisposeScope();
        var device = model.Device;
        var input = tensor(tokens, [rows, width], device: device).narrow(1, 0, width - 1);
        using var recorder = model.NewRecorder();
        var logits = model.TrainingLogits(input, recorder, layout: null);
        recorder.TakeBalanceLoss().Dispose(); // GRPO's objective has no balance term
        var logSoftmax = logits.to(ScalarType.Float32).log_softmax(-1);                                     // [N, W − 1, V]
        var picked = logSoftmax.gather(1, tensor(gather, [rows, longest, 1], device: device).expand(rows, longest, logSoftmax.shape[2]))
            .gather(2, tensor(targets, [rows, longest, 1], device: device)).squeeze(2);                     // [N, L]
        var weights = tensor(mask, [rows, longest], device: device);
        return (picked.mul(weights).MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope());
    }
}
