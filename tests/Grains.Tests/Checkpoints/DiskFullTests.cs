using System.Diagnostics;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Tests.Checkpoints;

/// <summary>
/// A full disk during a shard write, for real: the storage root is a 64 KiB tmpfs (mounted for the test;
/// that needs root), so the kernel answers ENOSPC. Where mounting is not allowed, the temporary file is a
/// link to /dev/full, whose writes the kernel also fails with ENOSPC.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private static readonly ParallelGroups OneRank = new(new ParallelLayout(1, 1), 0);
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-diskfull-").FullName;
    private string? _mounted;

    public void Dispose()
    {
        if (_mounted is not null) Run("umount", _mounted);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void DiskFull_AbortsThatCheckpointCleanly_AndTrainingContinues()
    {
        var data = EpRanks.Data(_root);
        var full = FullStorage();
        var roomy = Path.Combine(_root, "roomy");
        var aborted = new List<(long Step, string Reason)>();
        var prepared = new List<PreparedShard>();
        var onFull = new AsyncCheckpointer(full, "job", 1, OneRank, prepared.Add, (step, reason) => aborted.Add((step, reason)));
        var onRoomy = new AsyncCheckpointer(roomy, "job", 1, OneRank, prepared.Add, (step, reason) => aborted.Add((step, reason)));

        var losses = EpRanks.Run(data, world: 1, until: 4, afterStep: (_, trainer) =>
        {
            if (trainer.Step == 2) onFull.Checkpoint(trainer);
            if (trainer.Step == 3) onFull.Flush(); // the failure is known before the next step goes on
            if (trainer.Step == 4) onRoomy.Checkpoint(trainer);
        });
        onRoomy.Flush();

        Assert.Equal([1L, 2, 3, 4], losses[0].Keys.Order());
        var (abortedStep, reason) = Assert.Single(aborted);
        Assert.Equal(2, abortedStep);
        Assert.Contains("No space left on device", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories), f => new FileInfo(f).LinkTarget is null);
        var shard = Assert.Single(prepared);
        Assert.Equal(4, shard.Step);
        Assert.Null(ShardFile.Problem(roomy, shard.Shard));
    }

    /// <summary>A storage root too small for one shard.</summary>
    private string FullStorage()
    {
        var folder = Path.Combine(_root, "full");
        Directory.CreateDirectory(folder);
        if (Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder))
        {
            _mounted = folder;
            return folder;
        }

        var temp = ShardPaths.Absolute(folder, ShardPaths.Relative("job", 2, 1, 0)) + ShardPaths.TempSuffix;
        Directory.CreateDirectory(Path.GetDirectoryName(temp)!);
        File.CreateSymbolicLink(temp, "/dev/full");
        return folder;
    }

    private static bool Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
