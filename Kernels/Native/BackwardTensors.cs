using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Native;

/// <summary>
/// Releases the GPU tensors that custom autograd functions hand to libtorch from their backward.
/// TorchSharp wraps every gradient it passes into a backward in a new managed <see cref="Tensor"/>,
/// and the gradients a backward returns stay wrapped too; nothing disposes those wrappers but the
/// finalizer, so on a GPU their memory (activation-sized) piled up step after step until the device ran
/// out (seen on the H200: FP8 training grew ~40 GB a step and stopped at step 3). A backward cannot
/// dispose what it returns — libtorch takes its own reference only after the callback returns — so it
/// keeps them here, and the trainer releases them once its backward pass is over, when libtorch holds
/// its own references. CUDA backward callbacks run on the device's autograd thread, so the tensors are
/// kept per device: ranks of one process on other GPUs never release each other's. CPU tensors are
/// left to the finalizer as before (host memory, and a CPU backward's thread is not known here).
/// </summary>
public static class BackwardTensors
{
    private static readonly ConcurrentDictionary<int, ConcurrentQueue<Tensor>> Kept = new();

    /// <summary>Keeps <paramref name="tensor"/> (when on a GPU) for <see cref="Release"/>; returns it.</summary>
    public static Tensor Keep(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type == DeviceType.CUDA) Kept.GetOrAdd(tensor.device_index, _ => new ConcurrentQueue<Tensor>()).Enqueue(tensor);
        return tensor;
    }

    /// <summary>Keeps every tensor of <paramref name="tensors"/> (null entries skipped); returns the list.</summary>
    public static List<Tensor> Keep(List<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var tensor in tensors)
        {
            if (tensor is not null) Keep(tensor);
        }

        return tensors;
    }

    /// <summary>
    /// Disposes what backward callbacks kept on <paramref name="device"/>; call after the backward pass
    /// returned. A CUDA device without an index (<c>cuda</c>) releases every GPU's.
    /// </summary>
    public static int Release(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.type != DeviceType.CUDA) return 0;
        var released = 0;
        foreach (var (index, queue) in Kept)
        {
            if (device.index >= 0 && index != device.index) continue;
            while (queue.TryDequeue(out var tensor))
            {
                tensor.Dispose();
                released++;
            }
        }

        return released;
    }

    /// <summary>Tensors kept and not yet released on <paramref name="device"/>.</summary>
    public static int Pending(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.type == DeviceType.CUDA && Kept.TryGetValue((int)device.index, out var queue) ? queue.Count : 0;
    }
}
