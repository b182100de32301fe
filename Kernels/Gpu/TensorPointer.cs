using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Gpu;

/// <summary>
/// The device address of a tensor's first element (libtorch's <c>data_ptr()</c>, storage offset
/// included), read through LibTorchSharp's own export: kernels then work on the tensor in place.
/// </summary>
public static partial class TensorPointer
{
    /// <summary>Address of <paramref name="tensor"/>'s first element; the tensor must stay alive while it is used.</summary>
    public static IntPtr Of(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return THSTensor_data(tensor.Handle);
    }

    [LibraryImport("LibTorchSharp")]
    private static partial IntPtr THSTensor_data(IntPtr handle);
}
