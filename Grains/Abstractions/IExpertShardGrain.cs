using Orleans.Concurrency;

namespace Orchestrator.Grains;

/// <summary>
/// One expert shard of one MoE layer of one epoch of a job, keyed <c>job/epoch/layer/shard</c> (shard: the EP rank that
/// hosts it): which logical experts it holds under the current map (replicas marked), the map version, and its load
/// per step — what the balancer moves and the dashboard shows. It holds no tensor: the weights and their optimizer
/// state stay on the hosting rank's device. The job's load balancer updates it; in memory, an epoch's grain is new.
/// </summary>
public interface IExpertShardGrain : IGrainWithStringKey
{
    /// <summary>The key of shard <paramref name="shard"/> of MoE layer <paramref name="layer"/> of <paramref name="jobId"/>'s epoch.</summary>
    static string KeyOf(string jobId, long epoch, int layer, int shard) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{jobId}/{epoch}/{layer}/{shard}");

    /// <summary>The balancer's news: the map version and holdings now, and the shard's loads of the steps since the last update.</summary>
    [OneWay]
    Task Update(ExpertShardUpdate update);

    /// <summary>What the shard holds and its recent loads (empty before the first update).</summary>
    [AlwaysInterleave]
    Task<ExpertShardState> GetState();
}

/// <summary>A logical expert held by a shard.</summary>
/// <param name="Expert">The logical expert.</param>
/// <param name="Replica">Which copy this is (0: the first host, in rank order).</param>
/// <param name="Copies">How many ranks hold a copy of it.</param>
[GenerateSerializer, Immutable]
public sealed record ExpertCopy([property: Id(0)] int Expert, [property: Id(1)] int Replica, [property: Id(2)] int Copies);

/// <summary>One step's load of a shard: the tokens its copies ran (a replicated expert's shared evenly by its copies).</summary>
[GenerateSerializer, Immutable]
public sealed record ShardLoad([property: Id(0)] long Step, [property: Id(1)] double Tokens);

/// <summary>What the balancer tells a shard.</summary>
/// <param name="MapVersion">The map version the next step routes by.</param>
/// <param name="Experts">The experts the shard holds under it.</param>
/// <param name="Loads">The shard's loads of the steps since the last update, oldest first.</param>
[GenerateSerializer, Immutable]
public sealed record ExpertShardUpdate(
    [property: Id(0)] long MapVersion,
    [property: Id(1)] IReadOnlyList<ExpertCopy> Experts,
    [property: Id(2)] IReadOnlyList<ShardLoad> Loads);

/// <summary>A shard as its grain holds it.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Epoch">The epoch.</param>
/// <param name="Layer">The MoE layer (main model first, then MTP modules).</param>
/// <param name="Shard">The EP rank hosting it.</param>
/// <param name="MapVersion">The map version of <paramref name="Experts"/>; −1 before the first update.</param>
/// <param name="Experts">The experts it holds.</param>
/// <param name="Loads">Its most recent loads per step, oldest first.</param>
[GenerateSerializer, Immutable]
public sealed record ExpertShardState(
    [property: Id(0)] string JobId,
    [property: Id(1)] long Epoch,
    [property: Id(2)] int Layer,
    [property: Id(3)] int Shard,
    [property: Id(4)] long MapVersion,
    [property: Id(5)] IReadOnlyList<ExpertCopy> Experts,
    [property: Id(6)] IReadOnlyList<ShardLoad> Loads);
