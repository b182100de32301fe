using Orchestrator.Grains.DataPlane;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Tests.DataPlane;

/// <summary>Which transport a job's ranks use, from the spec's data_plane, the plan, and whether libnccl loads.</summary>
public sealed class DataPlaneChoiceTests
{
    private static RankAssignment[] Ranks(params string[] devices) =>
        devices.Select((d, r) => new RankAssignment(r, r, 0, "n1", d)).ToArray();

    private static readonly ParallelLayout Ep2 = new(2, 1);

    [Fact]
    public void Auto_TwoRanksOnTwoGpus_IsNccl_WhenItLoadsEverywhere()
    {
        var plan = DataPlaneChoice.FromPlan(DataPlaneMode.Auto, Ep2, Ranks("cuda:0", "cuda:1"));

        Assert.Equal(DataPlaneKind.Nccl, plan.Kind);
        Assert.Equal(DataPlaneKind.Nccl, DataPlaneChoice.Agree(DataPlaneMode.Auto, plan, [true, true]).Kind);
        Assert.Equal("nccl (id via grains)", plan.Name);
    }

    [Fact]
    public void Auto_FallsBackToGrains_SayingWhy()
    {
        var cpu = DataPlaneChoice.FromPlan(DataPlaneMode.Auto, Ep2, Ranks("cuda:0", "cpu:0"));
        var shared = DataPlaneChoice.FromPlan(DataPlaneMode.Auto, Ep2, Ranks("cuda:0", "cuda:0"));
        var notLoaded = DataPlaneChoice.Agree(DataPlaneMode.Auto, DataPlaneChoice.FromPlan(DataPlaneMode.Auto, Ep2, Ranks("cuda:0", "cuda:1")), [true, false]);

        Assert.Equal(DataPlaneKind.Grains, cpu.Kind);
        Assert.Contains("rank 1 is on cpu:0", cpu.Reason, StringComparison.Ordinal);
        Assert.Equal(DataPlaneKind.Grains, shared.Kind);
        Assert.Contains("share cuda:0", shared.Reason, StringComparison.Ordinal);
        Assert.Equal(DataPlaneKind.Grains, notLoaded.Kind);
        Assert.Contains("rank 1", notLoaded.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void DataParallelReplicas_OnTheirOwnGpus_UseNcclToo()
    {
        // ep 2 × dp 2: one communicator for the job, one per EP group, one per replica group.
        var plan = DataPlaneChoice.FromPlan(DataPlaneMode.Auto, new ParallelLayout(2, 2), Ranks("cuda:0", "cuda:1", "cuda:2", "cuda:3"));

        Assert.Equal(DataPlaneKind.Nccl, plan.Kind);
    }

    [Fact]
    public void Nccl_Insists_AndFailsWithTheReason_WhenItCannotBeUsed()
    {
        var cpu = Assert.Throws<DataPlaneException>(() => DataPlaneChoice.FromPlan(DataPlaneMode.Nccl, Ep2, Ranks("cpu:0", "cpu:1")));
        var plan = DataPlaneChoice.FromPlan(DataPlaneMode.Nccl, Ep2, Ranks("cuda:0", "cuda:1"));
        var missing = Assert.Throws<DataPlaneException>(() => DataPlaneChoice.Agree(DataPlaneMode.Nccl, plan, [false, true]));

        Assert.Contains("data_plane nccl: rank 0 is on cpu:0", cpu.Message, StringComparison.Ordinal);
        Assert.Contains("libnccl did not load on rank 0", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Grains_OrOneRank_NeverTouchNccl()
    {
        Assert.Equal(DataPlaneKind.Grains, DataPlaneChoice.FromPlan(DataPlaneMode.Grains, Ep2, Ranks("cuda:0", "cuda:1")).Kind);
        Assert.Equal(DataPlaneKind.None, DataPlaneChoice.FromPlan(DataPlaneMode.Nccl, new ParallelLayout(1, 1), Ranks("cpu:0")).Kind);
    }
}
