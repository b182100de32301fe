using System.Text.Json.Nodes;

namespace Orchestrator.GpuBench;

/// <summary>
/// One phase of a bench: an exception fails that phase (its full text printed and recorded under
/// "phase_errors") instead of ending the process, so the later phases still run. The fp8 bench's 2026-12
/// H100 run lost P3 and every later figure to one abort (exit 134: an unhandled exception) after its
/// encoder check.
/// </summary>
internal static class BenchPhase
{
    public static int Run(Results results, string name, Func<int> phase)
    {
        try
        {
            return phase();
        }
#pragma warning disable CA1031 // a bench phase reports any failure and lets the next phase run
        catch (Exception e)
#pragma warning restore CA1031
        {
            Results.Say($"FAIL {name}: {e}");
            results.Append("phase_errors", new JsonObject { ["phase"] = name, ["error"] = e.ToString() });
            return 1;
        }
    }
}
