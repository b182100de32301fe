namespace Orchestrator.Grains.Jobs;

/// <summary>Submission checks of the job kinds: a refused spec leaves nothing in the index.</summary>
public sealed partial class JobGrain
{
    /// <summary>
    /// Refuses a kind that does not run on ranks yet, data that does not read (off the scheduler: an sft file is read
    /// and tokenised whole) and an sft parent or a distill teacher that is not a committed checkpoint, and a teacher of another vocabulary than its
    /// student, each naming its field.
    /// </summary>
    private async Task CheckKindAsync(JobSpec spec)
    {
        await Task.Run(() => JobData.Check(spec));
        if (spec.Sft is { } sft) await RequireCommittedAsync(sft.FromCheckpoint, "sft.from_checkpoint");
        if (spec.Distill is { } distill) RequireSameVocabulary(spec, await RequireCommittedAsync(distill.Teacher, "distill.teacher"));
        if (spec.Grpo is { } grpo) await RequireGrpoCheckpointsAsync(grpo);
    }

    /// <summary>A teacher and its student share the tokenizer's ids: the teacher's logits are compared with the student's per id.</summary>
    private static void RequireSameVocabulary(JobSpec spec, CheckpointManifest teacher)
    {
        int student = spec.Run.Model().VocabSize, theirs;
        try
        {
            theirs = Distill.TeacherModel.Config(teacher).Model!.VocabSize;
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException or Kernels.Configuration.ConfigException)
        {
            throw new JobSpecException("distill.teacher", $"checkpoint {teacher.JobId}@{teacher.Step}: its model config does not read: {e.Message}");
        }
        if (theirs != student)
            throw new JobSpecException("distill.teacher", $"the teacher's vocab_size is {theirs}, the student's model.vocab_size {student}: teacher and student must share the vocabulary");
    }

    private async Task<CheckpointManifest> RequireCommittedAsync(CheckpointSource source, string field)
    {
        IReadOnlyList<CheckpointManifest> committed;
        try
        {
            committed = await GrainFactory.GetGrain<ICheckpointCoordinatorGrain>(source.JobId).List();
        }
        catch (KeyNotFoundException)
        {
            throw new JobSpecException(field, $"there is no job '{source.JobId}'");
        }
        if (committed.FirstOrDefault(c => c.Step == source.Step) is { } found) return found;
        var steps = committed.Count == 0 ? "none" : string.Join(", ", committed.Select(c => c.Step));
        throw new JobSpecException(field, $"job '{source.JobId}' has no committed checkpoint at step {source.Step} (committed: {steps})");
    }
}
