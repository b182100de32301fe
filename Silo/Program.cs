using Orchestrator.Silo.Cli;

return await OrchestratorCli.Build().Parse(args).InvokeAsync();
