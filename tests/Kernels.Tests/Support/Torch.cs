using Orchestrator.Kernels.Native;

namespace Orchestrator.Kernels.Tests.Support;

/// <summary>Loads libtorch once for the test process.</summary>
public static class Torch
{
    public static void Ready() => LibTorchRuntime.Initialize();
}
