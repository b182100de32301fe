using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The index's text for a job's phase is what existing databases hold.</summary>
public sealed class StoredJobPhaseTests
{
    [Theory]
    [InlineData(JobPhase.Submitted, "Pending")]
    [InlineData(JobPhase.Planning, "Planning")]
    [InlineData(JobPhase.Running, "Running")]
    [InlineData(JobPhase.Recovering, "Recovering")]
    [InlineData(JobPhase.Paused, "Paused")]
    [InlineData(JobPhase.Completed, "Completed")]
    [InlineData(JobPhase.Failed, "Failed")]
    [InlineData(JobPhase.Cancelled, "Cancelled")]
    public void APhase_IsStoredAsTheStatesTextOfBefore_AndReadsBack(JobPhase phase, string text)
    {
        Assert.Equal(text, StoredJobPhase.ToText(phase));
        Assert.Equal(phase, StoredJobPhase.Parse(text));
    }

    [Theory]
    [InlineData("Submitted")]
    [InlineData("running")]
    [InlineData("7")]
    public void TextNoStoreWrites_IsRefusedAsBadData(string text) =>
        Assert.Throws<InvalidDataException>(() => StoredJobPhase.Parse(text));
}
