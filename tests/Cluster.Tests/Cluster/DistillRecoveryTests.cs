using System.Diagnostics;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Distill;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// A distill job's recovery: three silo processes (one CPU slot each) on a real PostgreSQL; a distill job over two of
/// them has its teacher data recorded and a checkpoint committed when a process holding one of its ranks is killed by
/// pid. The new epoch reuses the recorded data set (its file untouched, its row the same) and the job ends with the
/// losses, bit for bit, of the same job run uninterrupted.
/// </summary>
public sealed class DistillRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const long Steps = 40;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-distill-recovery-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task KillingARankAfterTheTeacherDataIsWritten_ReusesIt_AndEndsBitIdenticalToAnUninterruptedRun()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(420));
        var storage = Path.Combine(_root, "storage");
        await using var cluster = await ProcessCluster.StartAsync(
            await _postgres.DatabaseForAsync(GetType()), "dr", ["cpu:1", "cpu:1", "cpu:1"], storage, timeout.Token);
        var (connection, store) = (cluster.Connection, cluster.Store);
        try
        {
            await cluster.RunToCompletionAsync(DistillJob.Teacher("teacher", TinyJob.Data(_root), 4), TimeSpan.FromSeconds(120));
            var prompts = DistillJob.WritePrompts(_root, "prompts.jsonl", 12);
            JobSpec Spec(string id) => JobSpecParser.Parse(DistillJob.Spec(id, prompts, new CheckpointSource("teacher", 4), Steps, 0.5, checkpointEvery: 4).ToJsonString());

            var whole = connection.Client.GetGrain<IJobGrain>("whole");
            await whole.Submit(Spec("whole"));
            var done = await OneNodeCluster.WaitForAsync(whole, s => s.IsFinal, TimeSpan.FromSeconds(180));
            Assert.True(done.Phase == JobPhase.Completed, $"{done.Phase}: {done.Error}");
            var wholeData = (await store.GetTeacherDataAsync("whole"))!;

            var job = connection.Client.GetGrain<IJobGrain>("killed");
            await job.Submit(Spec("killed"));
            TeacherDataSet? data = null;
            var clock = Stopwatch.StartNew();
            while ((data = await store.GetTeacherDataAsync("killed")) is null
                || !(await store.ListCheckpointsAsync("killed")).Any()
                || (await job.GetStatus()).Step < 6)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), "no teacher data and committed checkpoint within 2 minutes");
                await Task.Delay(50);
            }
            var file = Path.Combine(storage, data.Path);
            var written = File.GetLastWriteTimeUtc(file);
            var before = await job.GetStatus();
            Assert.False(before.IsFinal, $"the job ended (step {before.Step}) before the kill: the test has no recovery to see");
            var victim = before.Plan!.Ranks[1].Node;
            cluster.Silo(victim).Kill();
            output.WriteLine($"killed {victim} at step {before.Step}; teacher data {data.Rows} rows, {data.Sha256}");

            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(240));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.True(final.Epoch > 1, $"the job did not recover (epoch {final.Epoch})");
            Assert.Contains(await store.ListJobEventsAsync("killed"), e => e.Kind == "recovered");

            // Reused, not regenerated: the row and the file are the ones written before the kill, and they are the
            // uninterrupted job's data (the answers are a function of prompts, teacher and seed).
            Assert.Equal(data, await store.GetTeacherDataAsync("killed"));
            Assert.Equal(written, File.GetLastWriteTimeUtc(file));
            Assert.Null(TeacherDataFiles.Problem(storage, data));
            Assert.Equal((wholeData.Rows, wholeData.Sha256), (data.Rows, data.Sha256));

            var expected = (await store.QueryMetricsAsync("whole", new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
            var losses = (await store.QueryMetricsAsync("killed", new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
            Assert.Equal(Steps, expected.Length);
            Assert.Equal(expected, losses);
        }
        catch
        {
            cluster.WriteTails(output.WriteLine);
            throw;
        }
    }
}
