using System.Diagnostics;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// Runs one rank's pipeline program for one step: forwards keep their graphs until the backward that frees them,
/// sends and receives go through the <see cref="IStageLink"/>, and a hand-off between two chunks of the same rank
/// (DualPipeV's turn of the V) stays local. Gradients accumulate in the chunks' parameters; each micro-batch's loss
/// is divided by the micro-batch count, as <see cref="Trainer"/> does with gradient accumulation.
/// </summary>
internal sealed class PipelineExecutor(IReadOnlyList<PipelineChunk> chunks, IStageLink link, RoutingRecorder recorder, int microBatches)
{
    private readonly Dictionary<StageMessageKey, Tensor> _handoff = [];

    /// <summary>Fault injection (tests and drills only): the last stage's losses of this step are multiplied by NaN.</summary>
    public bool InjectNan { get; set; }
    private readonly Dictionary<(int MicroBatch, int Chunk), Pending> _pending = [];

    /// <summary>Runs <paramref name="program"/>; <paramref name="windows"/> gives micro-batch m's token windows. Returns the step's loss sums and timeline.</summary>
    public PipelineStepResult Run(IReadOnlyList<PipelineAction> program, Func<int, Tensor> windows)
    {
        var result = new PipelineStepResult();
        var start = Stopwatch.GetTimestamp();
        try
        {
            foreach (var action in program)
            {
                var from = Stopwatch.GetElapsedTime(start).TotalSeconds;
                Execute(action, windows, result);
                if (!action.IsCommunication) result.Intervals.Add(new PipelineInterval(action, from, Stopwatch.GetElapsedTime(start).TotalSeconds));
            }

            if (_pending.Count > 0 || _handoff.Count > 0)
                throw new InvalidOperationException($"the program left {_pending.Count} micro-batch graphs and {_handoff.Count} messages behind");
            return result;
        }
        finally
        {
            foreach (var p in _pending.Values) p.Dispose();
            foreach (var t in _handoff.Values) t.Dispose();
            _pending.Clear();
            _handoff.Clear();
        }
    }

    private void Execute(PipelineAction a, Func<int, Tensor> windows, PipelineStepResult result)
    {
        switch (a.Op)
        {
            case PipelineOp.Forward:
                Forward(a, windows(a.MicroBatch), result);
                break;
            case PipelineOp.Backward:
                Backward(a, input: true, weights: true);
                break;
            case PipelineOp.BackwardInput:
                Backward(a, input: true, weights: false);
                break;
            case PipelineOp.BackwardWeight:
                Backward(a, input: false, weights: true);
                break;
            case PipelineOp.SendActivation:
            case PipelineOp.SendGradient:
                var key = Key(a);
                using (var message = Take(key)) link.Send(a.Peer, key, message);
                break;
            case PipelineOp.ReceiveActivation:
            case PipelineOp.ReceiveGradient:
                Put(Key(a), link.Receive(a.Peer, Key(a), chunks[a.Chunk].Device));
                break;
            default:
                throw new InvalidOperationException($"unknown pipeline action {a}");
        }
    }

    private void Forward(PipelineAction a, Tensor windows, PipelineStepResult result)
    {
        var chunk = chunks[a.Chunk];
        var stage = chunk.Stage;
        Tensor? input = null;
        if (!stage.HoldsEmbedding) input = Take(new StageMessageKey(StageMessageKind.Activation, a.MicroBatch, stage.Stage - 1)).requires_grad_(true);
        var pending = new Pending(input);
        var scale = Scalars.Of(microBatches); // a cached constant, never disposed (see Scalars)
        if (stage.HoldsHead)
        {
            using var loss = chunk.Loss(input, windows, recorder, recorder.TakeBalanceLoss);
            result.AddLosses(loss);
            pending.Roots.Add(InjectNan ? loss.Total.mul(Scalars.Of(double.NaN)).div(scale) : loss.Total.div(scale));
            if (InjectNan) result.Poison();
            pending.Grads.Add(null);
        }
        else
        {
            var hidden = chunk.Hidden(input, windows, recorder);
            using var balance = recorder.TakeBalanceLoss();
            result.Balance += balance.item<float>();
            Put(new StageMessageKey(StageMessageKind.Activation, a.MicroBatch, stage.Stage), hidden.detach());
            pending.Roots.Add(hidden);
            pending.Grads.Add(null); // the next stage's input gradient, received before the backward
            if (balance.requires_grad)
            {
                pending.Roots.Add(balance.div(scale));
                pending.Grads.Add(null);
            }
        }

        _pending.Add((a.MicroBatch, a.Chunk), pending);
    }

    private void Backward(PipelineAction a, bool input, bool weights)
    {
        var chunk = chunks[a.Chunk];
        var stage = chunk.Stage;
        var pending = _pending[(a.MicroBatch, a.Chunk)];
        if (!stage.HoldsHead && pending.Grads[0] is null)
            pending.Grads[0] = Take(new StageMessageKey(StageMessageKind.Gradient, a.MicroBatch, stage.Stage));
        var made = new List<Tensor>();
        var grads = pending.Grads.Select((g, i) => g ?? Made(made, ones_like(pending.Roots[i]))).ToList();
        if (input && weights)
            autograd.backward(pending.Roots, grads);
        else if (input && pending.Input is not null)
            autograd.backward(pending.Roots, grads, retain_graph: true, inputs: [pending.Input]);
        else if (weights)
            autograd.backward(pending.Roots, grads, retain_graph: false, inputs: chunk.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList());
        BackwardTensors.Release(chunk.Device);

        if (input && pending.Input is not null)
        {
            var gradient = pending.Input.grad ?? throw new InvalidOperationException($"stage {stage.Stage}'s input got no gradient in {a}");
            Put(new StageMessageKey(StageMessageKind.Gradient, a.MicroBatch, stage.Stage - 1), gradient.detach().clone());
        }

        foreach (var g in made) g.Dispose();
        if (!weights) return;
        _pending.Remove((a.MicroBatch, a.Chunk));
        pending.Dispose();
    }

    private static Tensor Made(List<Tensor> made, Tensor t)
    {
        made.Add(t);
        return t;
    }

    private static StageMessageKey Key(PipelineAction a) => new(
        a.Op is PipelineOp.SendActivation or PipelineOp.ReceiveActivation ? StageMessageKind.Activation : StageMessageKind.Gradient, a.MicroBatch, a.Boundary);

    private Tensor Take(StageMessageKey key) =>
        _handoff.Remove(key, out var t) ? t : throw new InvalidOperationException($"the program needs the {key} before it was made or received");

    private void Put(StageMessageKey key, Tensor t)
    {
        if (!_handoff.TryAdd(key, t)) throw new InvalidOperationException($"the {key} was made twice");
    }

    /// <summary>A micro-batch's graph on one chunk, from its forward until the backward that frees it.</summary>
    private sealed class Pending(Tensor? input) : IDisposable
    {
        public Tensor? Input { get; } = input;

        public List<Tensor> Roots { get; } = [];

        public List<Tensor?> Grads { get; } = [];

        public void Dispose()
        {
            Input?.Dispose();
            foreach (var r in Roots) r.Dispose();
            foreach (var g in Grads) g?.Dispose();
        }
    }
}
