using Microsoft.Extensions.Logging;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Ranks;

/// <summary>What a <see cref="RankRun"/> takes from its grain and node.</summary>
/// <param name="Grains">The silo's grain factory (the run calls grains from its device thread, not from an activation).</param>
/// <param name="StorageRoot">The storage root shared by the nodes, where checkpoint shards are read and written.</param>
/// <param name="Mailbox">The rank's mailbox, which its grain feeds with its peers' messages.</param>
/// <param name="Logger">Where the run logs.</param>
/// <param name="Options">The run's timings.</param>
/// <param name="Batcher">The silo's batches of step reports.</param>
internal sealed record RankServices(IGrainFactory Grains, string StorageRoot, RankMailbox Mailbox, ILogger Logger, RankOptions Options, StepReportBatcher Batcher);
