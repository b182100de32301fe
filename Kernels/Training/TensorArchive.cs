using System.Text;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// A flat file of named tensors: magic, count, then per tensor its name, dtype, shape and raw
/// little-endian bytes. Exact (bit-for-bit) and independent of TorchSharp's own module format, so
/// a shard can hold any subset of a model (one expert shard's weights and moments, say).
/// </summary>
public static class TensorArchive
{
    private const uint Magic = 0x3141544F; // "OTA1"

    /// <summary>Writes tensors to <paramref name="path"/> (CPU copies are made as needed).</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        var items = tensors.ToArray();
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(items.Length);
            foreach (var (name, tensor) in items)
            {
                using var cpu = tensor.detach().cpu().contiguous();
                WriteHeader(writer, name, cpu.dtype, cpu.shape);
                var bytes = cpu.bytes;
                writer.Write((long)bytes.Length);
                writer.Write(bytes);
            }
        }
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Writes entries already copied out of their tensors to <paramref name="stream"/> (left open, not flushed to disk).</summary>
    public static void Write(Stream stream, IReadOnlyCollection<ArchiveEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(entries.Count);
        foreach (var entry in entries)
        {
            WriteHeader(writer, entry.Name, entry.DType, entry.Shape);
            writer.Write((long)entry.Data.Length);
            writer.Write(entry.Data);
        }
    }

    /// <summary>Reads every tensor of an archive (the caller owns and disposes them).</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Read(stream, path);
    }

    /// <summary>Reads every tensor of an archive from <paramref name="stream"/>; <paramref name="path"/> names it in errors.</summary>
    public static Dictionary<string, Tensor> Read(Stream stream, string path)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (stream.Length < 8 || reader.ReadUInt32() != Magic) throw new InvalidDataException($"'{path}' is not a tensor archive");
        var count = reader.ReadInt32();
        var result = new Dictionary<string, Tensor>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var dtype = (ScalarType)reader.ReadInt32();
            var shape = new long[reader.ReadInt32()];
            for (var d = 0; d < shape.Length; d++) shape[d] = reader.ReadInt64();
            var length = reader.ReadInt64();
            var bytes = reader.ReadBytes(checked((int)length));
            if (bytes.Length != length) throw new InvalidDataException($"'{path}' ends inside tensor '{name}'");
            var tensor = empty(shape, dtype, device: CPU);
            if (tensor.bytes.Length != length) throw new InvalidDataException($"tensor '{name}' in '{path}' has {length} bytes, its shape needs {tensor.bytes.Length}");
            tensor.bytes = bytes;
            result.Add(name, tensor);
        }
        return result;
    }

    private static void WriteHeader(BinaryWriter writer, string name, ScalarType dtype, long[] shape)
    {
        writer.Write(name);
        writer.Write((int)dtype);
        writer.Write(shape.Length);
        foreach (var size in shape) writer.Write(size);
    }
}
