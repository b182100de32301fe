using Orchestrator.Kernels.Training.Pipeline;

namespace Orchestrator.Kernels.Tests.Training.Pipeline;

/// <summary>The simulator refuses plans that cannot run, so the schedule tests that pass through it can fail.</summary>
public sealed class PipelineSimulatorTests
{
    private static readonly PipelineCosts Unit = new(1, 1, 1);

    [Fact]
    public void BackwardBeforeForward_IsRefused()
    {
        var plan = Plan(2, [[F(0, 0), Send(PipelineOp.SendActivation, 0, 0, 1), Recv(PipelineOp.ReceiveGradient, 0, 0, 1), B(0, 0)],
                            [B(0, 1), Recv(PipelineOp.ReceiveActivation, 0, 1, 0), F(0, 1), Send(PipelineOp.SendGradient, 0, 1, 0)]]);
        var e = Assert.Throws<PipelineScheduleException>(() => PipelineSimulator.Run(plan, Unit));
        Assert.Contains("backward before its forward", e.Message);
    }

    [Fact]
    public void ReceivesInCrossedOrder_AreADeadlock()
    {
        // Rank 0 waits for a gradient before it sends the activation that rank 1 waits for.
        var plan = Plan(2, [[F(0, 0), Recv(PipelineOp.ReceiveGradient, 0, 0, 1), Send(PipelineOp.SendActivation, 0, 0, 1), B(0, 0)],
                            [Recv(PipelineOp.ReceiveActivation, 0, 1, 0), F(0, 1), B(0, 1), Send(PipelineOp.SendGradient, 0, 1, 0)]]);
        var e = Assert.Throws<PipelineScheduleException>(() => PipelineSimulator.Run(plan, Unit));
        Assert.StartsWith("deadlock: rank 0 waits at ReceiveGradient", e.Message);
    }

    [Fact]
    public void ForwardWithoutItsActivation_IsRefused()
    {
        var plan = Plan(2, [[F(0, 0), B(0, 0)], [F(0, 1), B(0, 1)]]);
        var e = Assert.Throws<PipelineScheduleException>(() => PipelineSimulator.Run(plan, Unit));
        Assert.Contains("is not on the rank", e.Message);
    }

    [Fact]
    public void MissingBackward_IsRefused()
    {
        var plan = Plan(1, [[F(0, 0)]]);
        var e = Assert.Throws<PipelineScheduleException>(() => PipelineSimulator.Run(plan, Unit));
        Assert.Contains("never finished its backward", e.Message);
    }

    [Fact]
    public void WeightBeforeInputGradient_IsRefused()
    {
        var plan = Plan(1, [[F(0, 0), new PipelineAction(PipelineOp.BackwardWeight, 0, 0, 0), new PipelineAction(PipelineOp.BackwardInput, 0, 0, 0)]]);
        var e = Assert.Throws<PipelineScheduleException>(() => PipelineSimulator.Run(plan, Unit));
        Assert.Contains("weight gradient before its input gradient", e.Message);
    }

    [Fact]
    public void SendNobodyReceives_IsRefused()
    {
        var plan = Plan(2, [[F(0, 0), Send(PipelineOp.SendActivation, 0, 0, 1), Send(PipelineOp.SendActivation, 0, 0, 1)], []]);
        var e = Assert.Throws<PipelineScheduleException>(() => PipelineSimulator.Run(plan, Unit));
        Assert.Contains("sent twice", e.Message);
    }

    [Fact]
    public void TwoStagesTwoMicroBatches_TimesTheChainWithLatency()
    {
        var plan = new OneFOneBSchedule().Build(2, 2);
        var t = PipelineSimulator.Run(plan, new PipelineCosts(1, 2, 1, Latency: 0.5));
        // Rank 0: F0 [0,1] F1 [1,2]; rank 1: F0 [1.5,2.5] B0 [2.5,5.5] F1 [5.5,6.5] B1 [6.5,9.5]; rank 0: B0 [6,9] B1 [10,13].
        Assert.Equal(13, t.Makespan, 9);
        Assert.Equal([2, 1], t.PeakActivations);
    }

    private static PipelinePlan Plan(int stages, PipelineAction[][] ranks) => new("test", 1, stages, ranks);

    private static PipelineAction F(int m, int stage) => new(PipelineOp.Forward, m, 0, stage);

    private static PipelineAction B(int m, int stage) => new(PipelineOp.Backward, m, 0, stage);

    private static PipelineAction Send(PipelineOp op, int m, int stage, int peer) => new(op, m, 0, stage, peer);

    private static PipelineAction Recv(PipelineOp op, int m, int stage, int peer) => new(op, m, 0, stage, peer);
}
