using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// A new job from a committed checkpoint of a stored one: the stored spec with a new id and <c>resume_from</c>
/// naming the source job and step. The one place the dashboard's restore and <c>orchestrator restore</c> build it,
/// so both refuse the same way; the callers read the index and submit.
/// </summary>
public static class JobRestore
{
    /// <summary>Builds (and validates) the restored job's spec.</summary>
    /// <param name="sourceId">The job whose checkpoint to start from.</param>
    /// <param name="storedSpecJson">That job's spec as the index holds it (<c>jobs.spec</c>), or null if there is no such job.</param>
    /// <param name="step">The checkpoint's step.</param>
    /// <param name="committedSteps">The steps of the source job's committed checkpoints.</param>
    /// <param name="newId">The new job's id; null or blank for <c>SOURCE-from-STEP</c>.</param>
    /// <param name="parallelJson">
    /// A new <c>parallel</c> section (another pp, ep or dp) or null to keep the stored one: shards are read by tensor
    /// name, so a pp 4 checkpoint restores into pp 2 or into one rank.
    /// </param>
    /// <exception cref="KeyNotFoundException">No such job, or no committed checkpoint at that step (the message lists the committed ones).</exception>
    /// <exception cref="JobSpecException">The new id is not an id, or the stored spec no longer reads; nothing is recorded.</exception>
    public static JobSpec From(string sourceId, string? storedSpecJson, long step, IReadOnlyCollection<long> committedSteps, string? newId, string? parallelJson = null)
    {
        ArgumentNullException.ThrowIfNull(committedSteps);
        if (storedSpecJson is null) throw new KeyNotFoundException($"no job '{sourceId}'");
        if (!committedSteps.Contains(step))
            throw new KeyNotFoundException($"job '{sourceId}' has no committed checkpoint at step {step} (committed: {(committedSteps.Count == 0 ? "none" : string.Join(", ", committedSteps))})");
        var json = JsonNode.Parse(storedSpecJson)!.AsObject();
        json["id"] = string.IsNullOrWhiteSpace(newId) ? $"{sourceId}-from-{step}" : newId;
        json["resume_from"] = new JsonObject { ["job"] = sourceId, ["step"] = step };
        if (parallelJson is not null)
        {
            JsonNode? parallel;
            try
            {
                parallel = JsonNode.Parse(parallelJson);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new JobSpecException("parallel", $"the new layout is not JSON: {e.Message}");
            }

            json["parallel"] = parallel as JsonObject ?? throw new JobSpecException("parallel", "the new layout must be an object such as {\"pp\": 2}");
        }
        return JobSpecParser.Parse(json.ToJsonString());
    }
}
