using System.Diagnostics;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>Runs the real <c>orchestrator</c> executable as a child process.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;
    }

    public static async Task<Result> Run(params string[] args) => await Run(TimeSpan.FromMinutes(5), args);

    public static Task<Result> Run(TimeSpan timeout, params string[] args) => RunFrom(AppContext.BaseDirectory, timeout, args);

    /// <summary>Runs it with <paramref name="environment"/> added to its environment.</summary>
    public static Task<Result> RunWith(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunFrom(AppContext.BaseDirectory, TimeSpan.FromMinutes(5), environment, args);

    /// <summary>Runs the orchestrator.dll found in <paramref name="appDirectory"/>.</summary>
    public static Task<Result> RunFrom(string appDirectory, TimeSpan timeout, params string[] args) =>
        RunFrom(appDirectory, timeout, new Dictionary<string, string>(), args);

    private static async Task<Result> RunFrom(string appDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string> environment, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(appDirectory, "orchestrator.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("ORCHESTRATOR_LIBTORCH");
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"orchestrator {string.Join(' ', args)} did not finish in {timeout}");
        }
        return new Result(process.ExitCode, await output, await error);
    }
}
