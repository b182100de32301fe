using System.Text.Json;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// The model of a single-process checkpoint (<see cref="TrainerCheckpoint"/>) for inference: its config from the
/// checkpoint's <c>state.json</c>, its weights and expert biases from <c>model.ota</c>; the optimizer is not read.
/// </summary>
public static class CheckpointModel
{
    /// <summary>
    /// The checkpoint folder <paramref name="path"/> names: a step folder (holding <c>state.json</c>) as it is, or a
    /// checkpoint root (written by <c>train --checkpoint-dir</c>) through its <c>latest</c> pointer.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">There is no such folder.</exception>
    /// <exception cref="InvalidDataException">The folder is neither a checkpoint nor a root holding one.</exception>
    public static string Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"--checkpoint: no folder '{Path.GetFullPath(path)}'");
        if (File.Exists(Path.Combine(path, "state.json"))) return path;
        return TrainerCheckpoint.Latest(path)
            ?? throw new InvalidDataException($"--checkpoint: '{Path.GetFullPath(path)}' holds no checkpoint (neither state.json nor a 'latest' pointer)");
    }

    /// <summary>The run config a checkpoint was written with.</summary>
    public static RunConfig Config(string folder)
    {
        var statePath = Path.Combine(folder, "state.json");
        if (!File.Exists(statePath)) throw new InvalidDataException($"'{folder}' is not a checkpoint: state.json is missing");
        TrainerState? state;
        try { state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath)); }
        catch (JsonException e) { throw new InvalidDataException($"'{statePath}' is not a checkpoint state: {e.Message}"); }
        if (state is null || state.Config.Length == 0) throw new InvalidDataException($"'{statePath}' records no config");
        return ConfigLoader.Parse(state.Config, statePath);
    }

    /// <summary>Builds the checkpoint's model on <paramref name="device"/> (default the CPU) and loads its tensors.</summary>
    public static DeepSeekModel Load(string folder, Device? device = null)
    {
        var config = Config(folder);
        var model = new DeepSeekModel(config.Model!, config.Training?.Seed ?? 0, device: device ?? CPU);
        try
        {
            var tensors = TensorArchive.Read(Path.Combine(folder, "model.ota"));
            try { ModelState.Load(model, name => tensors.GetValueOrDefault(name), $"checkpoint '{folder}'"); }
            finally { foreach (var t in tensors.Values) t.Dispose(); }
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
