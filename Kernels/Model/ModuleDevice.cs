using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// The device the model's modules create their parameters and buffers on while a <see cref="DeepSeekModel"/>
/// is being built on this thread (the CPU otherwise). Per thread, so ranks of one process build their
/// models on different GPUs at the same time; libtorch's process-wide default device is never read.
/// </summary>
public static class ModuleDevice
{
    [ThreadStatic]
    private static Device? _current;

    /// <summary>The device modules built now on this thread create their tensors on.</summary>
    public static Device Current => _current ?? CPU;

    /// <summary>Builds on <paramref name="device"/> until the returned scope is disposed.</summary>
    public static Scope Use(Device device) => new(device);

    /// <summary>Restores the previous device when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly Device? _previous;

        internal Scope(Device device)
        {
            _previous = _current;
            _current = device;
        }

        /// <inheritdoc />
        public void Dispose() => _current = _previous;
    }
}
