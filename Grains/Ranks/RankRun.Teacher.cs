using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Distill;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A distill job's two parts on its ranks: the teacher data set (the teacher checkpoint answers the prompt set, each rank
/// its share, rank 0 merges and records it once; a recorded, intact set is reused), then the student's objective on it.
/// </summary>
internal partial class RankRun
{
    private static readonly TimeSpan TeacherPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The student's objective over the teacher data (packed sft rows on the rank's data shard): masked sft, or with
    /// <c>distill.logit_weight</c> &gt; 0 the distillation objective against the teacher's logits on the same rows.
    /// </summary>
    private ITrainingObjective DistillObjectiveOf()
    {
        var distill = Start.Spec.Distill ?? throw new InvalidOperationException("a distill job without its distill section");
        var training = Config.Training!;
        var tokenizer = TokenizerCatalog.Create(distill.Tokenizer);
        var row = training.SequenceLength + 1;
        var teacherData = _services.Grains.GetGrain<ITeacherDataGrain>(Key.JobId);
        var recorded = Call(teacherData.Get());
        DeepSeekModel? teacher = null;
        try
        {
            if (recorded is null || distill.LogitWeight > 0) teacher = TeacherModel.Load(TeacherManifest(distill.Teacher), StorageRoot, ComputeDevice());
            var reused = recorded is not null;
            if (recorded is null) recorded = Generate(teacherData, teacher!, tokenizer, row, distill);
            else if (TeacherDataFiles.Problem(StorageRoot, recorded) is { } problem) throw new InvalidDataException(problem);
            LogTeacherData(Key.ToString(), reused ? "reused" : "generated", recorded.Path, recorded.Rows, recorded.Skipped, recorded.Sha256);
            var examples = SftExamples.Load(Path.Combine(StorageRoot, recorded.Path), tokenizer, row);
            var source = new PackedSftSource(new SftPacking(examples, row, training.Seed, tokenizer.EndOfText), training.Seed, training.MicroBatchSize,
                training.GradientAccumulation, Groups.DataShard, Groups.DataShards, tokenizer.VocabSize);
            if (distill.LogitWeight == 0) return new SftObjective(source);
            var objective = new DistillObjective(source, teacher!, distill.Temperature, distill.LogitWeight);
            teacher = null; // the objective owns it now
            return objective;
        }
        finally
        {
            teacher?.Dispose();
        }
    }

    /// <summary>
    /// Every rank answers its share of the prompts (a part file, kept if a previous epoch wrote it: the answers are a pure
    /// function of prompt and seed); rank 0 waits for the parts, merges them and records the set; the others wait for the record.
    /// </summary>
    private TeacherDataSet Generate(ITeacherDataGrain teacherData, DeepSeekModel teacher, ITextTokenizer tokenizer, int row, DistillSpec distill)
    {
        var (shard, shards) = (Groups.DataShard, Groups.DataShards);
        var sampling = new TeacherSampling(distill.MaxTokens, distill.SampleTemperature, distill.TopP, Config.Training!.Seed);
        var part = TeacherDataFiles.Part(StorageRoot, Key.JobId, shard, shards);
        if (!File.Exists(part))
        {
            var prompts = PromptSet.Load(Start.Spec.DataDirectory, requireAnswer: false).Select(p => p.Prompt).ToList();
            TeacherDataFiles.WritePart(part, TeacherResponses.Generate(teacher, tokenizer, prompts, shard, shards, row, sampling, Stopping));
        }
        if (shard != 0)
        {
            TeacherDataSet? recorded = null;
            WaitFor(() => (recorded = Call(teacherData.Get())) is not null, "rank 0's record of the teacher data");
            return recorded!;
        }
        WaitFor(() => Enumerable.Range(0, shards).All(s => File.Exists(TeacherDataFiles.Part(StorageRoot, Key.JobId, s, shards))),
            "every rank's part of the teacher data");
        var (rows, skipped, bytes, sha) = TeacherDataFiles.Merge(StorageRoot, Key.JobId, shards);
        var (_, promptSha) = TeacherDataFiles.Digest(Start.Spec.DataDirectory);
        var samplingJson = JsonSerializer.Serialize(new { max_tokens = sampling.MaxNewTokens, temperature = sampling.Temperature, top_p = sampling.TopP, seed = sampling.Seed });
        return Call(teacherData.Record(new TeacherDataSet(Key.JobId, distill.Teacher, Start.Spec.DataDirectory, promptSha, samplingJson, rows, skipped,
            TeacherDataFiles.Relative(Key.JobId), bytes, sha)));
    }

    private CheckpointManifest TeacherManifest(CheckpointSource teacher) =>
        Call(_services.Grains.GetGrain<ICheckpointCoordinatorGrain>(teacher.JobId).List()).FirstOrDefault(c => c.Step == teacher.Step)
        ?? throw new InvalidDataException($"distill.teacher: job '{teacher.JobId}' has no committed checkpoint at step {teacher.Step}");

    /// <summary>Polls <paramref name="ready"/> until it answers, the rank is stopped, or the peer timeout passes.</summary>
    private void WaitFor(Func<bool> ready, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (ready()) return;
            if (clock.Elapsed > _services.Options.PeerTimeout) throw new TimeoutException($"waited {clock.Elapsed.TotalSeconds:F0} s for {what}");
            if (Stopping.WaitHandle.WaitOne(TeacherPoll)) throw new OperationCanceledException($"stopped while waiting for {what}", Stopping);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank}: teacher data {How}: {Path}, {Rows} rows, {Skipped} prompts left out, SHA-256 {Sha256}")]
    private partial void LogTeacherData(string rank, string how, string path, long rows, long skipped, string sha256);

    // A grain call from the device thread (not an activation): waiting on it blocks only this rank's thread.
    private static T Call<T>(Task<T> call) => call.GetAwaiter().GetResult();
}
