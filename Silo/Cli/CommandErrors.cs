using Orchestrator.Grains;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Training;
using Serilog;

namespace Orchestrator.Silo.Cli;

/// <summary>Turns the errors a user can cause into one clear message and exit code 2; anything else is a bug and keeps its stack.</summary>
public static class CommandErrors
{
    public const int UserError = 2;
    public const int TrainingStopped = 3;

    public static async Task<int> Run(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return UserError;
        }
        catch (JobSpecException e)
        {
            await Console.Error.WriteLineAsync($"error: invalid job spec: {e.Message}");
            return UserError;
        }
        catch (KeyNotFoundException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return UserError;
        }
        catch (NonFiniteLossException e)
        {
            Log.Error("Training stopped: {Reason}", e.Message);
            return TrainingStopped;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return UserError;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }
}
