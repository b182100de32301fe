using Microsoft.Extensions.Options;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Dashboard;

/// <summary>
/// Parses a submitted spec as <c>orchestrator submit</c> does (strict, every error naming its field),
/// then hands it to the job grain, which plans it and records it; a refused spec records nothing.
/// </summary>
public sealed class JobSubmission(IGrainFactory grains, IJobStore jobStore, ICheckpointIndex checkpointIndex, IOptions<DashboardOptions> options)
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

    /// <summary>
    /// Starts a new job from a committed checkpoint of <paramref name="sourceId"/> (<see cref="JobRestore"/>, as
    /// <c>orchestrator restore</c> does): its spec, and <c>resume_from</c> naming where it came from.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No such job, or no committed checkpoint at that step.</exception>
    /// <exception cref="JobSpecException">The new id is taken or not an id; nothing was recorded.</exception>
    public async Task<JobStatus> RestoreAsync(string sourceId, long step, string? newId)
    {
        var record = await jobStore.GetJobAsync(sourceId);
        IReadOnlyCollection<long> committed = record is null ? [] : (await checkpointIndex.ListCheckpointsAsync(sourceId)).Select(c => c.Step).ToList();
        var spec = JobRestore.From(sourceId, record?.SpecJson, step, committed, newId);
        return await grains.GetGrain<IJobGrain>(spec.Id).Submit(spec);
    }
}
