using BenchmarkDotNet.Running;

// Each benchmark class is a suite; `dotnet run -c Release --project bench/Benchmarks -- --filter '*'`.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
