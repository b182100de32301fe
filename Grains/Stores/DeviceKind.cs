namespace Orchestrator.Grains.Storage;

/// <summary>What kind of device a rank slot is.</summary>
public enum DeviceKind
{
    /// <summary>A CPU rank (emulated FP8); written <c>cpu:N</c>.</summary>
    Cpu,

    /// <summary>A CUDA GPU; written <c>cuda:N</c>.</summary>
    Cuda,

    /// <summary>A simulated device (the rank protocol with the compute replaced by a timed wait); written <c>sim:N</c>.</summary>
    Sim,
}
