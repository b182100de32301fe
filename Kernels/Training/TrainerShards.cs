using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// A trainer's state split by tensor name, for sharded checkpoints: each rank snapshots the tensors it
/// owns (the dense share once per job, its routed experts), and a restoring rank gathers the tensors it
/// holds from whichever shards have them. Model tensors (weights, expert biases and other buffers) are
/// named <c>model/…</c>, AdamW moments <c>adam/…</c>.
/// </summary>
public static class TrainerShards
{
    /// <summary>Prefix of model tensors (parameters and buffers, by their state-dict names).</summary>
    public const string ModelPrefix = "model/";

    /// <summary>Prefix of optimizer moments (<c>adam/param.m</c>, <c>adam/param.v</c>).</summary>
    public const string OptimizerPrefix = "adam/";

    /// <summary>True for a routed expert's tensor (or its moments): owned by the rank that holds the expert.</summary>
    public static bool IsRoutedExpert(string name) => ExpertSet.IsRoutedExpertName(name);

    /// <summary>Every tensor name the trainer holds: what a restore must find.</summary>
    public static IReadOnlyList<string> Names(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        return
        [
            .. trainer.Model.state_dict().Keys.Select(k => ModelPrefix + k),
            .. trainer.Optimizer.State().Select(s => OptimizerPrefix + s.Name),
        ];
    }

    /// <summary>The scalar state of the trainer now.</summary>
    public static TrainerState State(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        return new TrainerState
        {
            Step = trainer.Step,
            OptimizerUpdates = trainer.Optimizer.Updates,
            TokensSeen = trainer.TokensSeen,
            DataStep = trainer.Step,
            Config = ConfigLoader.ToJson(trainer.Run),
            Seed = trainer.Run.Training!.Seed,
        };
    }

    /// <summary>
    /// Copies the trainer's tensors whose names pass <paramref name="include"/> (given without prefix;
    /// a moment is included with its parameter) into host memory. Call it on the trainer's own thread,
    /// between steps; the copy is then independent of training.
    /// </summary>
    public static TrainerSnapshot Snapshot(Trainer trainer, Func<string, bool> include)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(include);
        var entries = new List<ArchiveEntry>();
        foreach (var (name, tensor) in trainer.Model.state_dict())
        {
            if (include(name)) entries.Add(ArchiveEntry.Copy(ModelPrefix + name, tensor));
        }

        foreach (var (name, tensor) in trainer.Optimizer.State())
        {
            if (include(name[..^2])) entries.Add(ArchiveEntry.Copy(OptimizerPrefix + name, tensor));
        }

        return new TrainerSnapshot(State(trainer), entries);
    }

    /// <summary>
    /// Loads every tensor the trainer holds from <paramref name="tensors"/> (by prefixed name) and restores
    /// its counters; refuses a state written with another config, and any missing or misshapen tensor.
    /// </summary>
    public static void Restore(Trainer trainer, TrainerState state, IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tensors);
        if (state.Config != ConfigLoader.ToJson(trainer.Run))
            throw new InvalidDataException($"the checkpoint at step {state.Step} was written with a different config; resume with the config it was trained with");

        var model = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in trainer.Model.state_dict().Keys)
        {
            model[name] = tensors.TryGetValue(ModelPrefix + name, out var t)
                ? t
                : throw new InvalidDataException($"the checkpoint at step {state.Step} has no tensor '{ModelPrefix}{name}'");
        }

        var (missing, unexpected) = trainer.Model.load_state_dict(model, strict: true);
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException($"checkpoint model does not match: missing {string.Join(", ", missing)}; unexpected {string.Join(", ", unexpected)}");
        var moments = tensors
            .Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        trainer.Optimizer.Load(moments, state.OptimizerUpdates);
        trainer.Restore(state);
    }
}
