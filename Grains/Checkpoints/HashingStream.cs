using System.Security.Cryptography;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// A write-only stream that hashes what passes through it on its way to the inner stream, with no copy
/// (CryptoStream's hash transform copies every block to an output buffer first).
/// </summary>
internal sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException("a hashing stream is written in order");
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        hash.AppendData(buffer);
        inner.Write(buffer);
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("a hashing stream is write-only");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a hashing stream is written in order");

    public override void SetLength(long value) => throw new NotSupportedException("a hashing stream is written in order");
}
