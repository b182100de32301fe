using Microsoft.Extensions.Options;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Dashboard;

/// <summary>
/// Parses a submitted spec as <c>orchestrator submit</c> does (strict, every error naming its field),
/// then hands it to the job grain, which plans it and records it; a refused spec records nothing.
/// </summary>
public sealed class JobSubmission(IGrainFactory grains, IOptions<DashboardOptions> options)
{
    /// <summary>Largest spec accepted (an inline model config is a few kB).</summary>
    public const int MaxSpecBytes = 1 << 20;

    /// <summary>Parses the spec; throws <see cref="JobSpecException"/> naming the field at fault.</summary>
    public JobSpec Parse(string json)
    {
        try
        {
            return JobSpecParser.Parse(json, options.Value.ResolveConfig);
        }
        catch (JobSpecException)
        {
            throw;
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException or ArgumentException or System.Text.Json.JsonException)
        {
            // The parser names fields for everything it knows; anything else is still the spec's fault.
            throw new JobSpecException("(root)", e.Message);
        }
    }

    /// <summary>Parses and submits; returns the job's status.</summary>
    public async Task<JobStatus> SubmitAsync(string json)
    {
        var spec = Parse(json);
        return await grains.GetGrain<IJobGrain>(spec.Id).Submit(spec);
    }
}
