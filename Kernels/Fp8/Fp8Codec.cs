using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Bulk FP8 encode/decode over spans of float32 or bfloat16 (raw <see cref="ushort"/> bits), with
/// round-to-nearest-even, vectorised with <see cref="Vector256{T}"/> (32 values per step) and a
/// scalar tail. Bit-identical to <see cref="Fp8ScalarCodec"/> (tested property).
/// </summary>
public static class Fp8Codec
{
    private const int Step = 32; // four uint lanes-vectors narrow to one 32-byte vector

    /// <summary>Encodes <c>source[i] / scale</c> into <paramref name="destination"/>.</summary>
    /// <remarks>
    /// The division (not a multiplication by 1/scale) is what the quantisation recipe specifies; the
    /// two differ in the last bit for scales that are not powers of two.
    /// </remarks>
    public static void Encode(ReadOnlySpan<float> source, Span<byte> destination, Fp8Format format,
        Fp8Overflow overflow = Fp8Overflow.Saturate, float scale = 1f)
    {
        CheckLengths(source.Length, destination.Length);
        var lanes = new Fp8Lanes(format, overflow);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var divisor = Vector256.Create(scale);
            var divide = scale != 1f;
            ref var src = ref MemoryMarshal.GetReference(source);
            for (; i <= source.Length - Step; i += Step)
            {
                var c0 = EncodeEight(ref src, i, lanes, divide, divisor);
                var c1 = EncodeEight(ref src, i + 8, lanes, divide, divisor);
                var c2 = EncodeEight(ref src, i + 16, lanes, divide, divisor);
                var c3 = EncodeEight(ref src, i + 24, lanes, divide, divisor);
                var bytes = Vector256.Narrow(Vector256.Narrow(c0, c1), Vector256.Narrow(c2, c3));
                bytes.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)i);
            }
        }

        for (; i < source.Length; i++)
        {
            var value = scale == 1f ? source[i] : source[i] / scale;
            destination[i] = (byte)lanes.Encode(BitConverter.SingleToUInt32Bits(value));
        }
    }

    /// <summary>Encodes bfloat16 values (given as their 16 raw bits); bf16 widens exactly to float32.</summary>
    public static void Encode(ReadOnlySpan<ushort> bfloat16Source, Span<byte> destination, Fp8Format format,
        Fp8Overflow overflow = Fp8Overflow.Saturate)
    {
        CheckLengths(bfloat16Source.Length, destination.Length);
        var lanes = new Fp8Lanes(format, overflow);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var src = ref MemoryMarshal.GetReference(bfloat16Source);
            for (; i <= bfloat16Source.Length - Step; i += Step)
            {
                var low = Vector256.LoadUnsafe(ref src, (nuint)i);
                var high = Vector256.LoadUnsafe(ref src, (nuint)(i + 16));
                var c0 = lanes.Encode(Vector256.ShiftLeft(Vector256.WidenLower(low), 16));
                var c1 = lanes.Encode(Vector256.ShiftLeft(Vector256.WidenUpper(low), 16));
                var c2 = lanes.Encode(Vector256.ShiftLeft(Vector256.WidenLower(high), 16));
                var c3 = lanes.Encode(Vector256.ShiftLeft(Vector256.WidenUpper(high), 16));
                var bytes = Vector256.Narrow(Vector256.Narrow(c0, c1), Vector256.Narrow(c2, c3));
                bytes.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)i);
            }
        }

        for (; i < bfloat16Source.Length; i++)
            destination[i] = (byte)lanes.Encode((uint)bfloat16Source[i] << 16);
    }

    /// <summary>Decodes codes into <c>decode(code) · scale</c>.</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<float> destination, Fp8Format format, float scale = 1f)
    {
        CheckLengths(source.Length, destination.Length);
        var lanes = new Fp8Lanes(format, Fp8Overflow.Saturate);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var factor = Vector256.Create(scale);
            ref var src = ref MemoryMarshal.GetReference(source);
            ref var dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Step; i += Step)
            {
                var bytes = Vector256.LoadUnsafe(ref src, (nuint)i);
                var (lo, hi) = (Vector256.WidenLower(bytes), Vector256.WidenUpper(bytes));
                StoreEight(lanes.Decode(Vector256.WidenLower(lo)), ref dst, i, factor);
                StoreEight(lanes.Decode(Vector256.WidenUpper(lo)), ref dst, i + 8, factor);
                StoreEight(lanes.Decode(Vector256.WidenLower(hi)), ref dst, i + 16, factor);
                StoreEight(lanes.Decode(Vector256.WidenUpper(hi)), ref dst, i + 24, factor);
            }
        }

        for (; i < source.Length; i++)
            destination[i] = BitConverter.UInt32BitsToSingle(lanes.Decode(source[i])) * scale;
    }

    /// <summary>Decodes codes into bfloat16 bits; every E4M3 and E5M2 value is exact in bfloat16.</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<ushort> bfloat16Destination, Fp8Format format)
    {
        CheckLengths(source.Length, bfloat16Destination.Length);
        var lanes = new Fp8Lanes(format, Fp8Overflow.Saturate);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var src = ref MemoryMarshal.GetReference(source);
            ref var dst = ref MemoryMarshal.GetReference(bfloat16Destination);
            for (; i <= source.Length - Step; i += Step)
            {
                var bytes = Vector256.LoadUnsafe(ref src, (nuint)i);
                var (lo, hi) = (Vector256.WidenLower(bytes), Vector256.WidenUpper(bytes));
                var f0 = Vector256.ShiftRightLogical(lanes.Decode(Vector256.WidenLower(lo)), 16);
                var f1 = Vector256.ShiftRightLogical(lanes.Decode(Vector256.WidenUpper(lo)), 16);
                var f2 = Vector256.ShiftRightLogical(lanes.Decode(Vector256.WidenLower(hi)), 16);
                var f3 = Vector256.ShiftRightLogical(lanes.Decode(Vector256.WidenUpper(hi)), 16);
                Vector256.Narrow(f0, f1).StoreUnsafe(ref dst, (nuint)i);
                Vector256.Narrow(f2, f3).StoreUnsafe(ref dst, (nuint)(i + 16));
            }
        }

        for (; i < source.Length; i++)
            bfloat16Destination[i] = (ushort)(lanes.Decode(source[i]) >> 16);
    }

    private static Vector256<uint> EncodeEight(ref float source, int offset, Fp8Lanes lanes, bool divide, Vector256<float> divisor)
    {
        var values = Vector256.LoadUnsafe(ref source, (nuint)offset);
        if (divide) values /= divisor;
        return lanes.Encode(values.AsUInt32());
    }

    private static void StoreEight(Vector256<uint> bits, ref float destination, int offset, Vector256<float> factor) =>
        (bits.AsSingle() * factor).StoreUnsafe(ref destination, (nuint)offset);

    private static void CheckLengths(int source, int destination)
    {
        if (destination < source)
            throw new ArgumentException($"Destination holds {destination} elements; the source has {source}.", nameof(destination));
    }
}
