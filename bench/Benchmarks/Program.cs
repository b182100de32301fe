using BenchmarkDotNet.Running;
using Orchestrator.Benchmarks.Checkpoints;
using Orchestrator.Benchmarks.Distributed;
using Orchestrator.Benchmarks.Fp8;
using Orchestrator.Benchmarks.Generation;
using Orchestrator.Benchmarks.Rl;
using Orchestrator.Benchmarks.Training;

// Named modes run a whole-run measurement (plain console); anything else goes to BenchmarkDotNet:
// `dotnet run -c Release --project bench/Benchmarks -- --filter '*'`.
if (args is ["train-throughput", ..]) return TrainThroughput.Run(args[1..]);
if (args is ["maxvio-experiment", ..]) return MaxVioExperiment.Run(args[1..]);
if (args is [Fp8GemmErrorExperiment.Command, .. var rest]) return Fp8GemmErrorExperiment.Run(rest);
if (args is [Fp8TrainingExperiment.Command, .. var more]) return Fp8TrainingExperiment.Run(more);
if (args is [ExpertParallelThroughput.Command, .. var epArgs]) return ExpertParallelThroughput.Run(epArgs);
if (args is [CheckpointStall.Command, .. var ckptArgs]) return CheckpointStall.Run(ckptArgs);
if (args is [GenerationThroughput.Command, .. var genArgs]) return GenerationThroughput.Run(genArgs);
if (args is [R1RecipeBench.Command, .. var r1Args]) return R1RecipeBench.Run(r1Args);
if (args is [ExpertReplacementBench.Command, .. var eplbArgs]) return ExpertReplacementBench.Run(eplbArgs);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
