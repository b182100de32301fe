using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// One tensor of a <see cref="TensorArchive"/> as plain bytes: what an asynchronous checkpoint holds
/// between the snapshot (on the device thread) and the write (on any thread, no libtorch needed).
/// </summary>
/// <param name="Name">The tensor's name in the archive.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Data">Its elements, contiguous, little-endian, exactly as libtorch holds them.</param>
public sealed record ArchiveEntry(string Name, ScalarType DType, long[] Shape, byte[] Data)
{
    /// <summary>A copy of <paramref name="tensor"/>'s current values (moved to host memory if need be).</summary>
    public static ArchiveEntry Copy(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        var host = tensor.detach().cpu().contiguous();
        return new ArchiveEntry(name, host.dtype, host.shape, host.bytes.ToArray());
    }
}
