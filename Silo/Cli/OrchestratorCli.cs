using System.CommandLine;

namespace Orchestrator.Silo.Cli;

/// <summary>The <c>orchestrator</c> command line.</summary>
public static class OrchestratorCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Orchestrator: trains DeepSeek-V3-style FP8 mixture-of-experts models");
        root.Options.Add(GlobalOptions.LibTorch);
        root.Options.Add(GlobalOptions.LogFile);
        root.Options.Add(GlobalOptions.Verbose);
        root.Options.Add(GlobalOptions.LogFormat);
        root.Subcommands.Add(ModelInfoCommand.Create());
        root.Subcommands.Add(PrepareDataCommand.Create());
        root.Subcommands.Add(TaskCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(SiloCommand.Create());
        root.Subcommands.Add(SubmitCommand.Create());
        root.Subcommands.Add(JobsCommand.Create());
        root.Subcommands.Add(JobCommand.Create());
        root.Subcommands.Add(CancelCommand.Create());
        root.Subcommands.Add(CheckpointsCommand.Create());
        root.Subcommands.Add(RestoreCommand.Create());
        root.Subcommands.Add(DashboardTokenCommand.Create());
        return root;
    }
}
