using Orchestrator.Kernels.Gpu;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// <see cref="ICollective"/> over NCCL: one rank per GPU, the tensors stay on the device. All-to-all
/// is a group of point-to-point sends and receives (MoE dispatch and combine), the sum is
/// ncclAllReduce (data-parallel gradients). Work is queued on the default stream libtorch uses, so it
/// is ordered with the surrounding tensor ops without extra synchronisation. Reductions follow NCCL's
/// algorithm for the fixed group, not the rank order the in-process groups use. Small host tensors
/// (losses, loads, the bias broadcast) are staged through the rank's GPU. After <see cref="Abort"/>
/// (another thread may call it while this rank waits on the GPU) every call throws
/// <see cref="CollectiveAbortedException"/>.
/// </summary>
public sealed unsafe class NcclCollective : ICollective, IDisposable
{
    private IntPtr _comm;
    private string? _abortReason;

    /// <summary>
    /// Joins the communicator named by <paramref name="uniqueId"/> (from <see cref="NcclNative.CreateUniqueId"/>
    /// on one rank, passed to all) as <paramref name="rank"/> of <paramref name="worldSize"/>, on
    /// <paramref name="cudaDevice"/>, which becomes the calling thread's current device. Blocks until every rank has joined.
    /// </summary>
    public NcclCollective(byte[] uniqueId, int rank, int worldSize, int cudaDevice)
    {
        ArgumentNullException.ThrowIfNull(uniqueId);
        if (uniqueId.Length != NcclNative.UniqueIdBytes)
            throw new ArgumentException($"an NCCL unique id has {NcclNative.UniqueIdBytes} bytes, got {uniqueId.Length}", nameof(uniqueId));
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "a group needs at least one rank");
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize})");
        Rank = rank;
        WorldSize = worldSize;
        Device = cudaDevice;
        CudaDevice.Select(cudaDevice);
        var id = new NcclNative.NcclUniqueId();
        uniqueId.CopyTo(new Span<byte>(id.Bytes, NcclNative.UniqueIdBytes));
        IntPtr comm;
        NcclNative.Check(NcclNative.Native.CommInitRank(&comm, worldSize, id, rank), $"ncclCommInitRank (rank {rank} of {worldSize})");
        _comm = comm;
    }

    public int Rank { get; }

    public int WorldSize { get; }

    /// <summary>The CUDA device index of this rank.</summary>
    public int Device { get; }

    public Tensor AllToAll(Tensor rows, long[] sendCounts, long[] receiveCounts)
    {
        CheckAllToAll(rows, sendCounts, receiveCounts, WorldSize);
        ThrowIfAborted();
        using var source = rows.detach().contiguous();
        var rowShape = rows.shape.Skip(1).ToArray();
        var rowElements = rowShape.Aggregate(1L, (a, b) => a * b);
        var output = empty([receiveCounts.Sum(), .. rowShape], rows.dtype, device: rows.device);
        var type = DataType(rows.dtype);
        var bytes = (long)rows.ElementSize * rowElements;
        var sendBase = TensorPointer.Of(source);
        var receiveBase = TensorPointer.Of(output);
        var api = NcclNative.Native;
        Check(api.GroupStart(), "ncclGroupStart");
        long sent = 0, received = 0;
        var failure = 0;
        for (var peer = 0; peer < WorldSize && failure == 0; peer++)
        {
            if (sendCounts[peer] > 0)
                failure = api.Send(sendBase + (nint)(sent * bytes), (nuint)(sendCounts[peer] * rowElements), type, peer, _comm, IntPtr.Zero);
            if (failure == 0 && receiveCounts[peer] > 0)
                failure = api.Recv(receiveBase + (nint)(received * bytes), (nuint)(receiveCounts[peer] * rowElements), type, peer, _comm, IntPtr.Zero);
            sent += sendCounts[peer];
            received += receiveCounts[peer];
        }
        var end = api.GroupEnd();
        Check(failure, "ncclSend/ncclRecv");
        Check(end, "ncclGroupEnd (all-to-all)");
        return output;
    }

    public long[][] AllGather(long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        ThrowIfAborted();
        using var device = tensor(values, ScalarType.Int64).to(new Device(DeviceType.CUDA, Device));
        using var gathered = empty([WorldSize * values.Length], ScalarType.Int64, device: device.device);
        Check(NcclNative.Native.AllGather(TensorPointer.Of(device), TensorPointer.Of(gathered), (nuint)values.Length,
            DataType(ScalarType.Int64), _comm, IntPtr.Zero), "ncclAllGather");
        using var host = gathered.cpu();
        var flat = host.data<long>().ToArray();
        return Enumerable.Range(0, WorldSize).Select(r => flat.AsSpan(r * values.Length, values.Length).ToArray()).ToArray();
    }

    public void AllReduceSum(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ThrowIfAborted();
        DataType(tensor.dtype);
        if (tensor.device_type == DeviceType.CUDA && tensor.device_index == Device && tensor.is_contiguous())
        {
            Sum(tensor);
            return;
        }
        // A host tensor (losses, loads, biases) or a strided one: summed on the rank's GPU, copied back.
        using var noGrad = no_grad();
        using var staged = tensor.detach().to(new Device(DeviceType.CUDA, Device)).contiguous();
        Sum(staged);
        tensor.copy_(staged);
    }

    private void Sum(Tensor tensor)
    {
        var pointer = TensorPointer.Of(tensor);
        Check(NcclNative.Native.AllReduce(pointer, pointer, (nuint)tensor.numel(), DataType(tensor.dtype), 0, _comm, IntPtr.Zero), "ncclAllReduce");
    }

    public void Abort(string reason)
    {
        if (Interlocked.CompareExchange(ref _abortReason, $"rank {Rank}: {reason}", null) is not null) return;
        var comm = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (comm != IntPtr.Zero) NcclNative.Native.CommAbort(comm);
    }

    /// <summary>
    /// The checks of <see cref="AllToAll"/> that need no GPU: one count per rank, no negative count,
    /// the send counts cover the rows exactly.
    /// </summary>
    public static void CheckAllToAll(Tensor rows, long[] sendCounts, long[] receiveCounts, int worldSize)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(sendCounts);
        ArgumentNullException.ThrowIfNull(receiveCounts);
        if (sendCounts.Length != worldSize || receiveCounts.Length != worldSize)
            throw new ArgumentException($"all-to-all: {sendCounts.Length} send and {receiveCounts.Length} receive counts for {worldSize} ranks (one per rank each)");
        if (sendCounts.Any(c => c < 0) || receiveCounts.Any(c => c < 0))
            throw new ArgumentException("all-to-all: a count is negative");
        if (rows.dim() < 1 || rows.shape[0] != sendCounts.Sum())
            throw new ArgumentException($"all-to-all: the send counts sum to {sendCounts.Sum()} rows, the tensor has {(rows.dim() < 1 ? 0 : rows.shape[0])}");
        if (rows.device_type != DeviceType.CUDA)
            throw new ArgumentException($"all-to-all over NCCL: the rows are on {rows.device}, not on a CUDA device");
        DataType(rows.dtype);
    }

    /// <summary>NCCL's code for a tensor element type.</summary>
    public static int DataType(ScalarType type) => type switch
    {
        ScalarType.Int8 => 0,
        ScalarType.Byte => 1,
        ScalarType.Int32 => 2,
        ScalarType.Int64 => 4,
        ScalarType.Float16 => 6,
        ScalarType.Float32 => 7,
        ScalarType.Float64 => 8,
        ScalarType.BFloat16 => 9,
        _ => throw new ArgumentException($"NCCL has no element type for {type}"),
    };

    private void ThrowIfAborted()
    {
        if (_abortReason is { } reason) throw new CollectiveAbortedException(reason);
    }

    /// <summary>An NCCL failure after an abort is the abort (the communicator is gone), not a fault of its own.</summary>
    private void Check(int result, string what)
    {
        if (result != 0) ThrowIfAborted();
        NcclNative.Check(result, what);
    }

    /// <summary>Destroys the communicator (after the queued work finished).</summary>
    public void Dispose()
    {
        var comm = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (comm != IntPtr.Zero) NcclNative.Native.CommDestroy(comm);
    }
}
