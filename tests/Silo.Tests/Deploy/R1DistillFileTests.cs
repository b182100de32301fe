using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Tasks;

namespace Orchestrator.Silo.Tests.Deploy;

/// <summary>deploy/jobs/r1-distill.json closes the newcomer's chain: its teacher is r1-sft's last checkpoint, its student smaller, one vocabulary.</summary>
public sealed class R1DistillFileTests
{
    private static JobSpec Read(string name) => JobSpecParser.Parse(
        File.ReadAllText(Path.Combine(RepositoryFiles.Root, "deploy", "jobs", name)),
        config => File.Exists(RepositoryFiles.Config(config + ".json")) ? File.ReadAllText(RepositoryFiles.Config(config + ".json")) : null);

    [Fact]
    public void TheDistillJob_IsTaughtByTheSftJobsLastCheckpoint_AStudentSmallerThanItsTeacher_OnTheTrainingPrompts()
    {
        var sft = Read("r1-sft.json");
        var distill = Read("r1-distill.json");

        Assert.Equal(JobKind.Distill, distill.Kind);
        Assert.Equal(new CheckpointSource(sft.Id, sft.Steps), distill.Distill!.Teacher);
        Assert.Equal(0, sft.Steps % sft.Checkpoint.Every); // the teacher's step is a committed checkpoint
        var (teacher, student) = (sft.Run.Config().Model!, distill.Run.Config().Model!);
        Assert.Equal(teacher.VocabSize, student.VocabSize);
        Assert.True(student.Dim < teacher.Dim && student.Layers <= teacher.Layers, "the student is the smaller model");
        Assert.Equal(sft.Sft!.Tokenizer, distill.Distill.Tokenizer);
        Assert.Equal(Path.GetDirectoryName(sft.DataDirectory), Path.GetDirectoryName(distill.DataDirectory));
        Assert.Equal(ArithmeticFiles.TrainPrompts, Path.GetFileName(distill.DataDirectory));
    }
}
