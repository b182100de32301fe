using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// One shard file mapped read-only into memory: the OS pages tokens in on demand and shares the
/// pages between processes on the host, so data-parallel ranks do not each hold a copy.
/// </summary>
internal sealed unsafe class MappedShard : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly TokenDType _dtype;

    public MappedShard(string path, long tokenCount, TokenDType dtype)
    {
        TokenCount = tokenCount;
        _dtype = dtype;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, tokenCount * dtype.ByteWidth(), MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
    }

    public long TokenCount { get; }

    /// <summary>Copies tokens [start, start + destination.Length) of this shard, widened to long.</summary>
    public void Read(long start, Span<long> destination)
    {
        if (_dtype == TokenDType.UInt16)
        {
            var source = new ReadOnlySpan<byte>(_base + (start * 2), destination.Length * 2);
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]);
            }
        }
        else
        {
            var source = new ReadOnlySpan<byte>(_base + (start * 4), destination.Length * 4);
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = BinaryPrimitives.ReadUInt32LittleEndian(source[(4 * i)..]);
            }
        }
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
