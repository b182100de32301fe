using BenchmarkDotNet.Running;
using Orchestrator.Benchmarks.Fp8;

// Experiments (plain console modes) first; everything else goes to BenchmarkDotNet:
// `dotnet run -c Release --project bench/Benchmarks -- --filter '*'`.
if (args is [Fp8GemmErrorExperiment.Command, .. var rest]) return Fp8GemmErrorExperiment.Run(rest);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
