using Orleans.Concurrency;

namespace Orchestrator.Grains;

/// <summary>The singleton (<see cref="Key"/>) that knows the nodes, their device slots and their health.</summary>
public interface IClusterGrain : IGrainWithStringKey
{
    /// <summary>The one key this grain has.</summary>
    public const string Key = "cluster";

    /// <summary>A silo reports its node at start: alive, with exactly these devices.</summary>
    Task RegisterNode(NodeAnnouncement node);

    /// <summary>A membership watcher saw a silo die; ignored unless it is the node's current silo.</summary>
    Task NodeDown(string name, string siloAddress);

    /// <summary>Every known node, alive or not, ordered by name.</summary>
    Task<IReadOnlyList<NodeView>> GetNodes();

    /// <summary>
    /// Places a job's ranks on free device slots of live nodes (see the rank planner) and reserves them
    /// for the job until <see cref="ReleaseJob"/>.
    /// </summary>
    /// <exception cref="JobSpecException">The ranks cannot be placed; the message says why.</exception>
    /// <param name="jobId">The job.</param>
    /// <param name="epoch">The epoch the plan is for.</param>
    /// <param name="layout">The ranks to place.</param>
    /// <param name="expertGroups">The model's expert groups (an EP group spans nodes only as they divide evenly).</param>
    /// <param name="simulated">Place on simulated slots (<c>sim:N</c>) only; otherwise on real ones only.</param>
    Task<RankPlan> PlanJob(string jobId, long epoch, ParallelSpec layout, int expertGroups, bool simulated = false);

    /// <summary>Frees the device slots reserved for a job.</summary>
    /// <remarks>Interleaves: a job releases while the cluster grain awaits that job (node loss).</remarks>
    [AlwaysInterleave]
    Task ReleaseJob(string jobId);

    /// <summary>Every job recorded, oldest first.</summary>
    Task<IReadOnlyList<JobStatus>> GetJobs();
}
