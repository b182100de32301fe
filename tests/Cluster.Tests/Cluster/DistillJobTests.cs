using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Distill;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training.Objectives;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// A distill job on two ranks of a real silo process on a real PostgreSQL: the teacher (a pretrain job's committed
/// checkpoint) answers the prompt set on the job's ranks, the data set's file and row carry its lineage and digest, and the
/// student's losses (data-parallel or expert-parallel) equal a single-process run of the same objective on that data. Refused submissions store nothing.
/// </summary>
public sealed class DistillJobTests(OneNodeCluster cluster, ITestOutputHelper output) : IClassFixture<OneNodeCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private string Storage => Path.Combine(cluster.Root, "storage");

    [Theory]
    [InlineData("distill-sft", 0.0, 1)]
    [InlineData("distill-logits", 0.5, 1)]
    [InlineData("distill-ep", 0.5, 2)]
    public async Task ADistillJob_RecordsItsTeacherData_AndTrainsTheStudentAsOneProcessWould(string id, double logitWeight, int ep)
    {
        var teacher = await TeacherAsync();
        var prompts = DistillJob.WritePrompts(cluster.Root, id + ".jsonl", 10);
        var json = DistillJob.Spec(id, prompts, new CheckpointSource("distill-teacher", 4), 4, logitWeight);
        json["parallel"] = new JsonObject { ["ep"] = ep, ["dp"] = 2 / ep }; // two ranks: data-parallel, or an expert-parallel student
        var spec = JobSpecParser.Parse(json.ToJsonString());
        var job = cluster.Client.GetGrain<IJobGrain>(id);
        await job.Submit(spec);
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, Patience);
        output.WriteLine($"{id}: {final.Phase} at step {final.Step}, loss {final.Loss:F4} ({final.Error})");
        Assert.Equal((JobPhase.Completed, 4L, (string?)null), (final.Phase, final.Step, final.Error));
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(id).Drain(Patience));

        // The data set: one row with the teacher, the prompt file and its digest, the sampling; its file as recorded.
        var data = await cluster.Store.GetTeacherDataAsync(id);
        Assert.NotNull(data);
        output.WriteLine($"teacher data: {data.Rows} rows, {data.Skipped} left out, {data.SamplingJson}");
        Assert.Equal((new CheckpointSource("distill-teacher", 4), prompts, TeacherDataFiles.Digest(prompts).Sha256),
            (data.Teacher, data.PromptFile, data.PromptSha256));
        Assert.Equal(10, data.Rows + data.Skipped);
        Assert.True(data.Rows > 0);
        Assert.Equal(JsonNode.Parse("""{"max_tokens": 24, "temperature": 0.8, "top_p": 0.9, "seed": 1234}""")!.ToJsonString(),
            JsonNode.Parse(data.SamplingJson)!.ToJsonString());
        Assert.Equal(TeacherDataFiles.Relative(id), data.Path);
        Assert.Equal((data.Bytes, data.Sha256), TeacherDataFiles.Digest(Path.Combine(Storage, data.Path)));
        Assert.Null(TeacherDataFiles.Problem(Storage, data));
        var lines = File.ReadAllLines(Path.Combine(Storage, data.Path));
        Assert.Equal(data.Rows, lines.Length);
        Assert.All(lines, l => Assert.Equal(["prompt", "response"], JsonNode.Parse(l)!.AsObject().Select(p => p.Key)));

        // The student's checkpoints: kind distill, parent the teacher.
        var rows = await cluster.Store.ListCheckpointsAsync(id);
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(("distill", new CheckpointSource("distill-teacher", 4)), (r.Kind, r.Parent)));

        // The losses of the two ranks' steps are those of one process taking both ranks' batches as its two micro-batches.
        var losses = await cluster.Store.QueryMetricsAsync(id, new MetricQuery("loss"));
        Assert.Equal([1L, 2, 3, 4], losses.Select(l => l.Step));
        LibTorchRuntime.Initialize();
        var single = DistillJob.SingleProcessLosses(spec, data, Storage, teacher);
        output.WriteLine($"ranks {string.Join(", ", losses.Select(l => l.Value.ToString("F6")))}; one process {string.Join(", ", single.Select(l => l.ToString("F6")))}");
        for (var i = 0; i < 4; i++) Assert.Equal(single[i], losses[i].Value, 5);
    }

    [Fact]
    public async Task Submission_RefusesAMissingTeacher_AnUncommittedStep_ABadPromptLine_AndAnotherVocabulary_StoringNothing()
    {
        await TeacherAsync();
        var prompts = DistillJob.WritePrompts(cluster.Root, "refusals.jsonl", 3);

        async Task Refused(JsonObject spec, string expected)
        {
            var id = (string)spec["id"]!;
            var error = await Assert.ThrowsAsync<JobSpecException>(() => cluster.Client.GetGrain<IJobGrain>(id).Submit(JobSpecParser.Parse(spec.ToJsonString())));
            output.WriteLine(error.Message);
            Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
            Assert.Null(await cluster.Store.GetJobAsync(id));
        }

        await Refused(DistillJob.Spec("distill-orphan", prompts, new CheckpointSource("no-such-teacher", 4), 2, 0),
            "distill.teacher: there is no job 'no-such-teacher'");
        await Refused(DistillJob.Spec("distill-step", prompts, new CheckpointSource("distill-teacher", 3), 2, 0),
            "distill.teacher: job 'distill-teacher' has no committed checkpoint at step 3 (committed:");

        var bad = Path.Combine(cluster.Root, "bad-prompts.jsonl");
        File.WriteAllLines(bad, ["{\"prompt\": \"1+2?\"}", "{\"question\": \"2+2?\"}"]);
        var badLine = DistillJob.Spec("distill-bad", bad, new CheckpointSource("distill-teacher", 4), 2, 0);
        await Refused(badLine, "data: ");
        var error = await Assert.ThrowsAsync<JobSpecException>(() => cluster.Client.GetGrain<IJobGrain>("distill-bad").Submit(JobSpecParser.Parse(badLine.ToJsonString())));
        Assert.Contains("line 2: unknown field 'question'", error.Message, StringComparison.Ordinal);

        var vocabulary = DistillJob.Spec("distill-vocab", prompts, new CheckpointSource("distill-teacher", 4), 2, 0);
        vocabulary["model"]!["vocab_size"] = 300;
        await Refused(vocabulary, "distill.teacher: the teacher's vocab_size is 257, the student's model.vocab_size 300");
    }

    /// <summary>The teacher: a pretrain job of 4 steps, its step-4 checkpoint committed (once per fixture).</summary>
    private async Task<Orchestrator.Grains.CheckpointManifest> TeacherAsync()
    {
        var teacher = cluster.Client.GetGrain<IJobGrain>("distill-teacher");
        if ((await cluster.Store.GetJobAsync("distill-teacher")) is null) await teacher.Submit(DistillJob.Teacher("distill-teacher", cluster.Data, 4));
        Assert.Equal(JobPhase.Completed, (await OneNodeCluster.WaitForAsync(teacher, s => s.IsFinal, Patience)).Phase);
        Assert.True(await cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("distill-teacher").Drain(Patience));
        return (await cluster.Store.GetCheckpointAsync("distill-teacher", 4))!;
    }
}
