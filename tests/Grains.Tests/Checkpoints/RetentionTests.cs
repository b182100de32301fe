using Orchestrator.Grains.Checkpoints;

namespace Orchestrator.Grains.Tests.Checkpoints;

/// <summary>Retention (keep the newest N and every M-th) and the collection of files the index does not reference.</summary>
public sealed class RetentionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-retention-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(2, 0, new long[] { 2, 4, 6, 8 })]
    [InlineData(2, 4, new long[] { 2, 6 })]
    [InlineData(1, 3, new long[] { 2, 4, 8, 10 })]
    [InlineData(10, 0, new long[0])]
    public void Expired_KeepsTheNewestAndTheMultiples(int keep, int keepEvery, long[] expected) =>
        Assert.Equal(expected, RetentionPolicy.Expired([2, 4, 6, 8, 10, 12], new CheckpointPolicy(2, keep, keepEvery)));

    [Fact]
    public void Collect_DeletesUnreferencedFilesUpToTheStep_AndLeavesLaterFoldersAlone()
    {
        var kept = Touch("j/00000004/rank-0-e2.ota");
        var olderEpoch = Touch("j/00000004/rank-0-e1.ota");
        var expired = Touch("j/00000002/rank-0-e1.ota");
        var temp = Touch("j/00000004/rank-1-e2.ota.tmp");
        var inFlight = Touch("j/00000006/rank-0-e2.ota.tmp");
        var otherJob = Touch("k/00000002/rank-0-e1.ota");

        var deleted = ShardCollector.Collect(_root, "j", new HashSet<string> { "j/00000004/rank-0-e2.ota" }, upToStep: 4);

        Assert.Equal(["j/00000002/rank-0-e1.ota", "j/00000004/rank-0-e1.ota", "j/00000004/rank-1-e2.ota.tmp"], deleted.Order(StringComparer.Ordinal));
        Assert.True(File.Exists(kept));
        Assert.True(File.Exists(inFlight));
        Assert.True(File.Exists(otherJob));
        Assert.False(File.Exists(olderEpoch) || File.Exists(expired) || File.Exists(temp));
        Assert.False(Directory.Exists(Path.Combine(_root, "j", "00000002")));
    }

    private string Touch(string relative)
    {
        var path = ShardPaths.Absolute(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, relative);
        return path;
    }
}
