using Orleans.Concurrency;

namespace Orchestrator.Grains;

/// <summary>One job (key: its id): spec, state machine, epoch, rank plan, metrics.</summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Validates the spec against the live cluster, records it, plans its ranks and starts them.</summary>
    /// <exception cref="JobSpecException">The spec cannot run; nothing was recorded.</exception>
    Task<JobStatus> Submit(JobSpec spec);

    /// <summary>The job as it is now.</summary>
    /// <exception cref="KeyNotFoundException">No such job.</exception>
    /// <remarks>Interleaves (it only reads), so a listing never waits behind a submission.</remarks>
    [AlwaysInterleave]
    Task<JobStatus> GetStatus();

    /// <summary>The job's history, in order.</summary>
    Task<IReadOnlyList<JobEventView>> GetEvents();

    /// <summary>Stops the job's ranks and records it as cancelled (a finished job is left as it is).</summary>
    Task<JobStatus> Cancel();

    /// <summary>A rank finished a step.</summary>
    /// <exception cref="StaleEpochException">The rank belongs to another epoch.</exception>
    Task ReportStep(long epoch, int rank, StepMetrics metrics);

    /// <summary>Several ranks' reports in one call: a silo's batch of the step reports of its ranks other than rank 0.</summary>
    /// <exception cref="StaleEpochException">The ranks belong to another epoch.</exception>
    Task ReportSteps(long epoch, IReadOnlyList<RankStepReport> reports);

    /// <summary>
    /// Which data plane a rank of the epoch uses (<c>nccl (id via grains)</c>, <c>grains</c>, <c>none</c>) and
    /// why: recorded as a <c>data-plane</c> event.
    /// </summary>
    /// <exception cref="StaleEpochException">The rank belongs to another epoch.</exception>
    Task ReportDataPlane(long epoch, int rank, string device, string dataPlane, string reason);

    /// <summary>Rank 0 re-placed the routed experts at a step boundary: recorded as an <c>expert-replacement</c> event.</summary>
    /// <exception cref="StaleEpochException">The rank belongs to another epoch.</exception>
    Task ReportExpertReplacement(long epoch, ExpertReplacementReport report);

    /// <summary>A rank's training ended.</summary>
    /// <exception cref="StaleEpochException">The rank belongs to another epoch.</exception>
    Task ReportFinished(long epoch, int rank, RankOutcome outcome);

    /// <summary>
    /// The cluster lost a node; a job with a rank there recovers (new epoch, re-plan, resume from the last
    /// committed checkpoint). One-way: the cluster grain never waits on a job, so a job that is itself
    /// waiting on the cluster grain (re-planning) cannot deadlock with it.
    /// </summary>
    [OneWay]
    Task NodeLost(string node);

    /// <summary>
    /// Another grain of the job (its checkpoint coordinator) raises an alert: the job records it, logs it, keeps it in
    /// its status and counts it. One-way, so the coordinator never waits on the job (which waits on it for resume points).
    /// </summary>
    [OneWay]
    Task RaiseAlert(JobAlert alert);

    /// <summary>The silo this activation runs on (its address, <c>S{ip}:{port}:{generation}</c>); tests kill it.</summary>
    [AlwaysInterleave]
    Task<string> GetSiloIdentity();
}
