using BenchmarkDotNet.Running;
using Orchestrator.Benchmarks.Training;

// Named modes run a whole-run measurement; anything else goes to BenchmarkDotNet.
if (args is ["train-throughput", ..]) return TrainThroughput.Run(args[1..]);
if (args is ["maxvio-experiment", ..]) return MaxVioExperiment.Run(args[1..]);

// Each benchmark class is a suite; `dotnet run -c Release --project bench/Benchmarks -- --filter '*'`.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
