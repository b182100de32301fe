using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Silo.Tests.Deploy;

/// <summary>The newcomer's chain in deploy/jobs (pretrain → sft → grpo on the arithmetic task) fits together as the README runs it.</summary>
public sealed class R1ChainFilesTests
{
    private static JobSpec Read(string name) => JobSpecParser.Parse(
        File.ReadAllText(Path.Combine(RepositoryFiles.Root, "deploy", "jobs", name)),
        config => File.Exists(RepositoryFiles.Config(config + ".json")) ? File.ReadAllText(RepositoryFiles.Config(config + ".json")) : null);

    [Fact]
    public void TheSftJob_StartsFromThePretrainJobsLastCheckpoint_WithTheSameModel()
    {
        var pretrain = Read("r1-pretrain.json");
        var sft = Read("r1-sft.json");

        Assert.Equal((JobKind.Pretrain, JobKind.Sft), (pretrain.Kind, sft.Kind));
        Assert.Equal(new CheckpointSource(pretrain.Id, pretrain.Steps), sft.Sft!.FromCheckpoint);
        Assert.Equal(0, pretrain.Steps % pretrain.Checkpoint.Every); // the last step is a committed checkpoint
        Assert.Equal(pretrain.Run.Config().Model, sft.Run.Config().Model);
        Assert.Equal(Path.GetDirectoryName(pretrain.DataDirectory), Path.GetDirectoryName(sft.DataDirectory));
        Assert.Equal(ArithmeticFiles.TrainSft, Path.GetFileName(sft.DataDirectory));
    }

    [Fact]
    public void TheGrpoJob_StartsFromTheSftJobsLastCheckpoint_AndItsRolloutsFitTheModelOnTheReadmesTask()
    {
        var sft = Read("r1-sft.json");
        var grpo = Read("r1-grpo.json");
        Assert.Equal(JobKind.Grpo, grpo.Kind);
        Assert.Equal(new CheckpointSource(sft.Id, sft.Steps), grpo.Grpo!.FromCheckpoint);
        Assert.Equal(grpo.Grpo.FromCheckpoint, grpo.Grpo.Reference);
        Assert.Equal(0, sft.Steps % sft.Checkpoint.Every);
        Assert.Equal(sft.Run.Config().Model, grpo.Run.Config().Model);
        Assert.Equal(ArithmeticFiles.TrainPrompts, Path.GetFileName(grpo.DataDirectory));
        var folder = Directory.CreateTempSubdirectory("r1-grpo-").FullName;
        try
        {
            var (train, test) = new ArithmeticTask().Splits(1, 2000, 500);
            ArithmeticFiles.Write(folder, train, test);
            // Every prompt with its longest rollout fits model.max_seq_len, and every answer is a number (the submission check).
            GrpoJob.Check(grpo with { DataDirectory = Path.Combine(folder, ArithmeticFiles.TrainPrompts) });
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Fact]
    public void TheReadmesArithmeticTask_FitsTheSftJobsRows()
    {
        var sft = Read("r1-sft.json");
        var folder = Directory.CreateTempSubdirectory("r1-chain-").FullName;
        try
        {
            // As the README makes it: orchestrator task arithmetic --train 2000 --test 500 --seed 1 (default digits).
            var (train, test) = new ArithmeticTask().Splits(1, 2000, 500);
            ArithmeticFiles.Write(folder, train, test);
            var examples = SftExamples.Load(Path.Combine(folder, ArithmeticFiles.TrainSft), new ByteTokenizer(), sft.Run.Config().Training!.SequenceLength + 1);
            Assert.Equal(2000, examples.Count);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
