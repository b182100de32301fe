namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// Runs a <see cref="PipelinePlan"/> on paper: every rank walks its program in order, a receive blocks until
/// its send has happened (or, <paramref name="rendezvous"/>, a send also blocks until its receive is next on
/// the peer), and every compute checks that its input is on the rank. It finds deadlocks, computes out of
/// order, missing or repeated computes and unmatched messages, and times the step under given costs.
/// </summary>
public static class PipelineSimulator
{
    /// <summary>Simulates <paramref name="plan"/>.</summary>
    /// <exception cref="PipelineScheduleException">The plan cannot run as written.</exception>
    public static PipelineTimeline Run(PipelinePlan plan, PipelineCosts costs, bool rendezvous = false)
    {
        var ranks = plan.Ranks.Count;
        var pc = new int[ranks];
        var clock = new double[ranks];
        var ready = Enumerable.Range(0, ranks).Select(_ => new HashSet<(bool Gradient, int MicroBatch, int Stage)>()).ToArray();
        var held = new int[ranks];
        var peak = new int[ranks];
        var intervals = Enumerable.Range(0, ranks).Select(_ => new List<PipelineInterval>()).ToArray();
        var mail = new Dictionary<(PipelineOp, int MicroBatch, int Boundary, int From, int To), double>();
        var done = new HashSet<(PipelineOp, int MicroBatch, int Stage)>();
        var doneOn = new Dictionary<(int MicroBatch, int Stage), int>();

        while (true)
        {
            var moved = false;
            for (var r = 0; r < ranks; r++)
            {
                while (pc[r] < plan.Ranks[r].Count)
                {
                    var a = plan.Ranks[r][pc[r]];
                    if (a.Op == PipelineOp.SendActivation || a.Op == PipelineOp.SendGradient)
                    {
                        Require(ready[r], a.Op == PipelineOp.SendGradient, a.MicroBatch, a.Boundary, r, a);
                        var key = (Matching(a.Op), a.MicroBatch, a.Boundary, r, a.Peer);
                        if (mail.ContainsKey(key)) throw Bad(r, a, "sent twice");
                        if (rendezvous)
                        {
                            if (a.Peer < 0 || a.Peer >= ranks || pc[a.Peer] >= plan.Ranks[a.Peer].Count) break;
                            var there = plan.Ranks[a.Peer][pc[a.Peer]];
                            if (there.Op != key.Item1 || there.MicroBatch != a.MicroBatch || there.Boundary != a.Boundary || there.Peer != r) break;
                            clock[r] = clock[a.Peer] = Math.Max(clock[r], clock[a.Peer]) + costs.Latency;
                            ready[a.Peer].Add((a.Op == PipelineOp.SendGradient, a.MicroBatch, a.Boundary));
                            mail[key] = clock[r];
                            pc[a.Peer]++;
                        }
                        else
                        {
                            mail[key] = clock[r] + costs.Latency;
                        }
                    }
                    else if (a.Op == PipelineOp.ReceiveActivation || a.Op == PipelineOp.ReceiveGradient)
                    {
                        if (rendezvous || !mail.TryGetValue((a.Op, a.MicroBatch, a.Boundary, a.Peer, r), out var arrives)) break;
                        clock[r] = Math.Max(clock[r], arrives);
                        ready[r].Add((a.Op == PipelineOp.ReceiveGradient, a.MicroBatch, a.Boundary));
                    }
                    else
                    {
                        Compute(plan, costs, r, a, ready[r], done, doneOn, ref clock[r], intervals[r], pc[r]);
                        held[r] += a.Op == PipelineOp.Forward ? 1 : a.Op is PipelineOp.Backward or PipelineOp.BackwardWeight ? -1 : 0;
                        peak[r] = Math.Max(peak[r], held[r]);
                    }

                    pc[r]++;
                    moved = true;
                }
            }

            if (Enumerable.Range(0, ranks).All(r => pc[r] == plan.Ranks[r].Count)) break;
            if (!moved)
                throw new PipelineScheduleException("deadlock: " + string.Join("; ",
                    Enumerable.Range(0, ranks).Where(r => pc[r] < plan.Ranks[r].Count).Select(r => $"rank {r} waits at {plan.Ranks[r][pc[r]]}")));
        }

        Complete(plan, done, mail);
        return new PipelineTimeline(intervals, clock.Max(), peak);
    }

    private static void Compute(PipelinePlan plan, PipelineCosts costs, int r, PipelineAction a, HashSet<(bool, int, int)> ready,
        HashSet<(PipelineOp, int, int)> done, Dictionary<(int, int), int> doneOn, ref double clock, List<PipelineInterval> intervals, int at)
    {
        var last = plan.VirtualStages - 1;
        if (a.MicroBatch < 0 || a.MicroBatch >= plan.MicroBatches || a.Stage < 0 || a.Stage > last) throw Bad(r, a, "outside the plan");
        if (doneOn.TryGetValue((a.MicroBatch, a.Stage), out var owner) && owner != r) throw Bad(r, a, $"stage {a.Stage} also computed on rank {owner}");
        doneOn[(a.MicroBatch, a.Stage)] = r;
        switch (a.Op)
        {
            case PipelineOp.Forward:
                if (a.Stage > 0) Require(ready, false, a.MicroBatch, a.Stage - 1, r, a);
                ready.Add((false, a.MicroBatch, a.Stage));
                break;
            case PipelineOp.Backward or PipelineOp.BackwardInput:
                if (!done.Contains((PipelineOp.Forward, a.MicroBatch, a.Stage))) throw Bad(r, a, "backward before its forward");
                if (done.Contains((PipelineOp.Backward, a.MicroBatch, a.Stage)) || done.Contains((PipelineOp.BackwardInput, a.MicroBatch, a.Stage)))
                    throw Bad(r, a, "backward twice");
                if (a.Stage < last) Require(ready, true, a.MicroBatch, a.Stage, r, a);
                if (a.Stage > 0) ready.Add((true, a.MicroBatch, a.Stage - 1));
                break;
            case PipelineOp.BackwardWeight:
                if (!done.Contains((PipelineOp.BackwardInput, a.MicroBatch, a.Stage))) throw Bad(r, a, "weight gradient before its input gradient");
                break;
        }

        if (!done.Add((a.Op, a.MicroBatch, a.Stage))) throw Bad(r, a, "computed twice");
        var cost = costs.Of(a.Op);
        // The forward of an overlapped pair takes what the pair costs beyond its backward.
        if (a.OverlapsNext) cost = costs.Pair - costs.Of(plan.Ranks[r][at + 1].Op);
        intervals.Add(new PipelineInterval(a, clock, clock + cost));
        clock += cost;
    }

    private static void Complete(PipelinePlan plan, HashSet<(PipelineOp, int, int)> done, Dictionary<(PipelineOp, int, int, int, int), double> mail)
    {
        for (var m = 0; m < plan.MicroBatches; m++)
        for (var s = 0; s < plan.VirtualStages; s++)
        {
            if (!done.Contains((PipelineOp.Forward, m, s))) throw new PipelineScheduleException($"micro-batch {m} never ran forward through stage {s}");
            var full = done.Contains((PipelineOp.Backward, m, s));
            var split = done.Contains((PipelineOp.BackwardInput, m, s)) && done.Contains((PipelineOp.BackwardWeight, m, s));
            if (!full && !split) throw new PipelineScheduleException($"micro-batch {m} never finished its backward through stage {s}");
        }

        // A receive consumes its send's message only when it matches; every message must have been received.
        var received = plan.Ranks.SelectMany((p, r) => p.Where(a => a.Op is PipelineOp.ReceiveActivation or PipelineOp.ReceiveGradient)
            .Select(a => (a.Op, a.MicroBatch, a.Boundary, a.Peer, r))).ToHashSet();
        foreach (var (op, microBatch, _, from, to) in mail.Keys.Where(k => !received.Contains(k)))
            throw new PipelineScheduleException($"{op} of micro-batch {microBatch} from rank {from} to rank {to} is never received");
    }

    private static PipelineOp Matching(PipelineOp send) => send == PipelineOp.SendActivation ? PipelineOp.ReceiveActivation : PipelineOp.ReceiveGradient;

    private static void Require(HashSet<(bool, int, int)> ready, bool gradient, int microBatch, int stage, int rank, PipelineAction a)
    {
        if (!ready.Contains((gradient, microBatch, stage)))
            throw Bad(rank, a, $"its input ({(gradient ? "gradient" : "activation")} of micro-batch {microBatch} at stage {stage}) is not on the rank");
    }

    private static PipelineScheduleException Bad(int rank, PipelineAction a, string why) => new($"rank {rank}, {a}: {why}");
}
