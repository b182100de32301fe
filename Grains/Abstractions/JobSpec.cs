namespace Orchestrator.Grains;

/// <summary>
/// A job as the control plane runs it: a submitted spec parsed once (<c>JobSpecParser.Parse</c>), with its model
/// config inline (a named config is resolved at submission, so every silo sees the same model). Grains, ranks, the
/// CLI and the dashboard pass this record; the spec JSON in the index is only its persisted form
/// (<c>JobSpecParser.ToJson</c>).
/// </summary>
/// <param name="Id">The job id: 1 to 64 of a-z, 0-9 and '-'.</param>
/// <param name="Run">The model and training config, overrides applied (typed through <c>RunConfigCache.Config</c>).</param>
/// <param name="DataDirectory">
/// The kind's data, as the silos see it: for pretrain the folder with the token dataset (index.json and shards), for sft a
/// prompt/response JSONL file, for grpo and distill a prompt/answer JSONL file.
/// </param>
/// <param name="Steps">Step count to reach.</param>
/// <param name="Layout">How ranks are laid out.</param>
/// <param name="Fp8">Whether every GEMM input is FP8 (the model's dtype becomes <c>fp8</c>).</param>
/// <param name="Checkpoint">When checkpoints are written and how many are kept.</param>
/// <param name="MaxSeconds">Stop at the first step boundary after this long and complete; null for no limit.</param>
/// <param name="ResumeFrom">The committed checkpoint (of this or another job) the job starts from; null starts from the seed.</param>
[GenerateSerializer, Immutable]
public sealed record JobSpec(
    [property: Id(0)] string Id,
    [property: Id(1)] RunSpec Run,
    [property: Id(2)] string DataDirectory,
    [property: Id(3)] long Steps,
    [property: Id(4)] ParallelSpec Layout,
    [property: Id(5)] bool Fp8,
    [property: Id(6)] CheckpointPolicy Checkpoint,
    [property: Id(7)] double? MaxSeconds,
    [property: Id(8)] CheckpointSource? ResumeFrom = null)
{
    /// <summary>How the job recovers from a lost node or rank.</summary>
    [Id(20)]
    public RecoveryPolicy Recovery { get; init; } = RecoveryPolicy.Default;

    /// <summary>How the ranks exchange tensors (spec <c>data_plane</c>).</summary>
    [Id(21)]
    public DataPlaneMode DataPlane { get; init; } = DataPlaneMode.Auto;

    /// <summary>What the job trains for (spec <c>kind</c>; absent in specs stored before it existed: pretrain).</summary>
    [Id(22)]
    public JobKind Kind { get; init; } = JobKind.Pretrain;

    /// <summary>Set when the job runs on simulated devices (spec <c>simulation</c>): its ranks then only take <c>sim:N</c> slots.</summary>
    [Id(23)]
    public SimulationSpec? Simulation { get; init; }

    /// <summary>When the job raises alerts and what a non-finite loss does (spec <c>alerts</c>).</summary>
    [Id(24)]
    public AlertPolicy Alerts { get; init; } = AlertPolicy.Default;

    /// <summary>Deliberate faults for tests and drills (spec <c>faults</c>); null, as for every real job, injects none.</summary>
    [Id(25)]
    public FaultInjection? Faults { get; init; }

    /// <summary>The <c>sft</c> section; set exactly when <see cref="Kind"/> is <see cref="JobKind.Sft"/>.</summary>
    [Id(26)]
    public SftSpec? Sft { get; init; }

    /// <summary>The <c>grpo</c> section; set exactly when <see cref="Kind"/> is <see cref="JobKind.Grpo"/>.</summary>
    [Id(27)]
    public GrpoSpec? Grpo { get; init; }

    /// <summary>The <c>distill</c> section; set exactly when <see cref="Kind"/> is <see cref="JobKind.Distill"/>.</summary>
    [Id(28)]
    public DistillSpec? Distill { get; init; }

    /// <summary>When the job re-places its routed experts (spec <c>balancing</c>); null, the default: never.</summary>
    [Id(29)]
    public ExpertBalancingSpec? Balancing { get; init; }
}
