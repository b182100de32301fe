using Orchestrator.Kernels.Model;
using System.Globalization;
using System.Text.Json;
using Orchestrator.Kernels.Configuration;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// Single-process checkpoints: <c>root/step-NNNNNNNN/</c> holding the model (weights and expert
/// biases), the optimizer moments and the scalar state. A checkpoint is written under a temporary
/// name and renamed when complete, and <c>root/latest</c> is replaced atomically last, so a crash
/// at any point leaves the previous checkpoint as the latest.
/// </summary>
public static class TrainerCheckpoint
{
    private const string LatestFile = "latest";

    /// <summary>Saves the trainer under <paramref name="root"/>; returns the checkpoint's folder.</summary>
    public static string Save(Trainer trainer, string root)
    {
        Directory.CreateDirectory(root);
        var name = $"step-{trainer.Step.ToString("D8", CultureInfo.InvariantCulture)}";
        var final = Path.Combine(root, name);
        var temp = Path.Combine(root, $".tmp-{name}-{Environment.ProcessId}");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);

        TensorArchive.Write(Path.Combine(temp, "model.ota"), ModelState.Tensors(trainer.Model));
        TensorArchive.Write(Path.Combine(temp, "optimizer.ota"), trainer.Optimizer.State());
        var state = TrainerShards.State(trainer);
        WriteDurably(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(state));

        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        WriteDurably(Path.Combine(root, LatestFile + ".tmp"), name);
        File.Move(Path.Combine(root, LatestFile + ".tmp"), Path.Combine(root, LatestFile), overwrite: true);
        return final;
    }

    /// <summary>The folder of the latest complete checkpoint under <paramref name="root"/>, or null if there is none.</summary>
    public static string? Latest(string root)
    {
        var pointer = Path.Combine(root, LatestFile);
        if (!File.Exists(pointer)) return null;
        var folder = Path.Combine(root, File.ReadAllText(pointer).Trim());
        return Directory.Exists(folder) ? folder : throw new InvalidDataException($"'{pointer}' names '{folder}', which does not exist");
    }

    /// <summary>Rebuilds a trainer (on <paramref name="device"/>, default the CPU) from a checkpoint folder; refuses a config that differs from the one it was saved with.</summary>
    public static Trainer Load(string folder, RunConfig expected, IBatchSource data, long plannedSteps, TorchSharp.torch.Device? device = null)
    {
        var statePath = Path.Combine(folder, "state.json");
        if (!File.Exists(statePath)) throw new InvalidDataException($"'{folder}' is not a checkpoint: state.json is missing");
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath))
            ?? throw new InvalidDataException($"'{statePath}' is empty");
        var expectedJson = ConfigLoader.ToJson(expected);
        if (state.Config != expectedJson)
            throw new InvalidDataException($"checkpoint '{folder}' was written with a different config; resume with the config it was trained with");

        var trainer = new Trainer(expected.Model!, expected.Training!, data, plannedSteps, device: device);
        try
        {
            var modelTensors = TensorArchive.Read(Path.Combine(folder, "model.ota"));
            try
            {
                ModelState.Load(trainer.Model, name => modelTensors.GetValueOrDefault(name), $"checkpoint '{folder}'");
            }
            finally { foreach (var t in modelTensors.Values) t.Dispose(); }

            var optimizer = TensorArchive.Read(Path.Combine(folder, "optimizer.ota"));
            try { trainer.Optimizer.Load(optimizer, state.OptimizerUpdates); }
            finally { foreach (var t in optimizer.Values) t.Dispose(); }

            trainer.Restore(state);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    private static void WriteDurably(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        using (var writer = new StreamWriter(stream, leaveOpen: true)) writer.Write(text);
        stream.Flush(flushToDisk: true);
    }
}
