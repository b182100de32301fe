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
    public static IReadOnlyList<string> Names(IShardedTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        return
        [
            .. ModelTensors(trainer).Select(t => ModelPrefix + t.Name),
            .. trainer.Optimizer.State().Select(s => OptimizerPrefix + s.Name),
        ];
    }

    /// <summary>The trainer's parameters and buffers, each once, under its registered name.</summary>
    public static IReadOnlyList<(string Name, Tensor Tensor)> ModelTensors(IShardedTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        return trainer.NamedTensors();
    }

    /// <summary>
    /// A module's parameters and buffers, each once, under its registered name. (TorchSharp's state_dict
    /// also lists every tensor under the field names of the modules that hold it — eight aliases of an
    /// expert's weight — so a checkpoint of the state_dict would be several times the model's size.)
    /// </summary>
    public static IReadOnlyList<(string Name, Tensor Tensor)> ModuleTensors(TorchSharp.torch.nn.Module module, Func<string, string>? rename = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, parameter) in module.named_parameters())
        {
            var named = rename?.Invoke(name) ?? name;
            if (seen.Add(named)) tensors.Add((named, parameter));
        }

        foreach (var (name, buffer) in module.named_buffers())
        {
            var named = rename?.Invoke(name) ?? name;
            if (seen.Add(named)) tensors.Add((named, buffer));
        }

        return tensors;
    }

    /// <summary>The scalar state of the trainer now.</summary>
    public static TrainerState State(IShardedTrainer trainer)
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
            ExpertMap = ExpertMapState.Of((trainer as Trainer)?.ExpertMap),
        };
    }

    /// <summary>
    /// Copies the trainer's tensors whose names pass <paramref name="include"/> (given without prefix;
    /// a moment is included with its parameter) into host memory. Call it on the trainer's own thread,
    /// between steps; the copy is then independent of training.
    /// </summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="include">Which tensors (names without prefix).</param>
    /// <param name="reuse">
    /// The previous snapshot's entries, once nothing reads them any more (its write finished): their arrays
    /// are filled again instead of allocating new ones.
    /// </param>
    public static TrainerSnapshot Snapshot(IShardedTrainer trainer, Func<string, bool> include, IReadOnlyList<ArchiveEntry>? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(include);
        var entries = new List<ArchiveEntry>(reuse?.Count ?? 0);
        byte[]? Reusable(string name) => reuse is not null && entries.Count < reuse.Count && reuse[entries.Count].Name == name ? reuse[entries.Count].Data : null;
        foreach (var (name, tensor) in ModelTensors(trainer))
        {
            if (include(name)) entries.Add(ArchiveEntry.Copy(ModelPrefix + name, tensor, Reusable(ModelPrefix + name)));
        }

        foreach (var (name, tensor) in trainer.Optimizer.State())
        {
            if (include(name[..^2])) entries.Add(ArchiveEntry.Copy(OptimizerPrefix + name, tensor, Reusable(OptimizerPrefix + name)));
        }

        return new TrainerSnapshot(State(trainer), entries);
    }

    /// <summary>
    /// Loads every tensor the trainer holds from <paramref name="tensors"/> (by prefixed name) and restores
    /// its counters; refuses a state written with another config, and any missing or misshapen tensor.
    /// </summary>
    public static void Restore(IShardedTrainer trainer, TrainerState state, IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tensors);
        if (state.Config != ConfigLoader.ToJson(trainer.Run))
            throw new InvalidDataException($"the checkpoint at step {state.Step} was written with a different config; resume with the config it was trained with");
        var built = ExpertMapState.Of((trainer as Trainer)?.ExpertMap);
        if ((built is null) != (state.ExpertMap is null) || (built is not null && (built.Version != state.ExpertMap!.Version
            || !built.Slots.Zip(state.ExpertMap.Slots).All(p => p.First.SequenceEqual(p.Second)) || built.Slots.Length != state.ExpertMap.Slots.Length)))
            throw new InvalidDataException($"the checkpoint at step {state.Step} was written on expert map version {state.ExpertMap?.Version ?? 0}, the trainer is built on version {built?.Version ?? 0}; build it on the checkpoint's map");

        using (no_grad())
        {
            foreach (var (name, target) in ModelTensors(trainer))
            {
                var source = tensors.TryGetValue(ModelPrefix + name, out var t) || TryOriginal(tensors, ModelPrefix, name, out t)
                    ? t
                    : throw new InvalidDataException($"the checkpoint at step {state.Step} has no tensor '{ModelPrefix}{name}'");
                if (!source.shape.SequenceEqual(target.shape) || source.dtype != target.dtype)
                    throw new InvalidDataException($"tensor '{ModelPrefix}{name}' is {source.dtype}[{string.Join(", ", source.shape)}] in the checkpoint, {target.dtype}[{string.Join(", ", target.shape)}] in the model");
                target.copy_(source);
            }
        }

        var moments = tensors
            .Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        foreach (var (name, _) in trainer.Optimizer.State())
            if (!moments.ContainsKey(name) && TryOriginal(tensors, OptimizerPrefix, name, out var original)) moments[name] = original;
        trainer.Optimizer.Load(moments, state.OptimizerUpdates);
        trainer.Restore(state);
    }

    /// <summary>
    /// Starts <paramref name="trainer"/> from another job's weights (an sft job's parent): loads every parameter and
    /// buffer from <paramref name="tensors"/>, but neither the optimizer's moments nor the counters — the job starts at
    /// step 0 with a fresh AdamW. The model config must be the parent's; the training config may differ.
    /// </summary>
    public static void Initialize(IShardedTrainer trainer, TrainerState state, IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Initialize(trainer.Run.Model!, ModelTensors(trainer), state, tensors);
    }

    /// <summary>
    /// As <see cref="Initialize(IShardedTrainer, TrainerState, IReadOnlyDictionary{string, Tensor})"/> for a model of
    /// <paramref name="config"/> alone, given its <paramref name="targets"/> (<see cref="ModuleTensors"/>): a frozen
    /// reference policy, which has no optimizer.
    /// </summary>
    public static void Initialize(ModelConfig config, IReadOnlyList<(string Name, Tensor Tensor)> targets, TrainerState state, IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tensors);
        if (ConfigLoader.ToJson(ConfigLoader.Parse(state.Config, "checkpoint state").Model!) != ConfigLoader.ToJson(config))
            throw new InvalidDataException($"the parent checkpoint at step {state.Step} was written with a different model config; fine-tune with the model it was trained with");
        using (no_grad())
        {
            foreach (var (name, target) in targets)
            {
                var source = tensors.TryGetValue(ModelPrefix + name, out var t) || TryOriginal(tensors, ModelPrefix, name, out t)
                    ? t
                    : throw new InvalidDataException($"the parent checkpoint at step {state.Step} has no tensor '{ModelPrefix}{name}'");
                if (!source.shape.SequenceEqual(target.shape) || source.dtype != target.dtype)
                    throw new InvalidDataException($"tensor '{ModelPrefix}{name}' is {source.dtype}[{string.Join(", ", source.shape)}] in the parent, {target.dtype}[{string.Join(", ", target.shape)}] in the model");
                target.copy_(source);
            }
        }
    }

    /// <summary>Suffix of a tensor that is a copy of another kept equal to it (the MTP stage's embedding).</summary>
    public const string CopySuffix = ".copy";

    /// <summary>
    /// A copy's tensor (<c>embed.copy</c>, <c>embed.copy.m</c>) read from its original (<c>embed</c>, <c>embed.m</c>)
    /// when the checkpoint was written by a layout without the copy: the two are equal by construction.
    /// </summary>
    private static bool TryOriginal(IReadOnlyDictionary<string, Tensor> tensors, string prefix, string name, out Tensor tensor)
    {
        var at = name.IndexOf(CopySuffix, StringComparison.Ordinal);
        tensor = null!;
        return at > 0 && tensors.TryGetValue(prefix + name.Remove(at, CopySuffix.Length), out tensor!);
    }
}
