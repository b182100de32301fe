using TorchSharp;
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
    /// <summary>
    /// A copy of <paramref name="tensor"/>'s current values (moved to host memory if need be), into
    /// <paramref name="reuse"/> when it has the right length (an earlier snapshot's array that nothing reads any more).
    /// </summary>
    public static ArchiveEntry Copy(string name, Tensor tensor, byte[]? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
        {
            // The common case (CPU ranks): one copy of the tensor's memory, into the reused array or one that
            // is not zeroed first, and no intermediate tensors — this is the checkpoint's stall on the
            // training thread. (Fresh arrays for every checkpoint cost more in garbage collection than the copy.)
            var source = tensor.bytes;
            var data = reuse is not null && reuse.Length == source.Length ? reuse : GC.AllocateUninitializedArray<byte>(source.Length);
            source.CopyTo(data);
            return new ArchiveEntry(name, tensor.dtype, tensor.shape, data);
        }

        using var scope = NewDisposeScope();
        var host = tensor.detach().cpu().contiguous();
        return new ArchiveEntry(name, host.dtype, host.shape, host.bytes.ToArray());
    }
}
