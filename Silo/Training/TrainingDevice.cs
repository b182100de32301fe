using TorchSharp;

namespace Orchestrator.Silo.Training;

/// <summary>The device a single-process run trains on; tensors are created there by default.</summary>
public static class TrainingDevice
{
    /// <summary>Parses "cpu", "cuda" or "cuda:N", refusing CUDA when the loaded libtorch cannot reach a GPU.</summary>
    public static torch.Device Resolve(string name)
    {
        if (name == "cpu") return torch.CPU;
        if (name != "cuda" && !name.StartsWith("cuda:", StringComparison.Ordinal))
            throw new ArgumentException($"--device: expected cpu, cuda or cuda:N (got \"{name}\")");
        if (!torch.cuda.is_available())
            throw new ArgumentException($"--device {name}: this libtorch has no CUDA device (on a GPU node, point --libtorch at a CUDA build, e.g. a PyTorch install's torch/lib)");
        return new torch.Device(name);
    }
}
