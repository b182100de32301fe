using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Bulk FP8 encode/decode over spans of float32 or bfloat16 (raw <see cref="ushort"/> bits), with
/// round-to-nearest-even, vectorised with <see cref="Vector256{T}"/> (32 values per step) and a
/// scalar tail. Bit-identical to <see cref="Fp8ScalarCodec"/> (tested property).
/// </summary>
public static class Fp8Codec
{
    private const int Step = 32; // four 8-lane int vectors narrow to one 32-byte vector

    /// <summary>Encodes <c>source[i] / scale</c> into <paramref name="destination"/>.</summary>
    /// <remarks>
    /// The division (not a multiplication by 1/scale) is what the quantisation recipe specifies; the
    /// two differ in the last bit for scales that are not powers of two.
    /// </remarks>
    public static void Encode(ReadOnlySpan<float> source, Span<byte> destination, Fp8Format format,
        Fp8Overflow overflow = Fp8Overflow.Saturate, float scale = 1f)
    {
        CheckLengths(source.Length, destination.Length);
        if (format == Fp8Format.E4M3) EncodeFloat<E4M3Layout>(source, destination, overflow, scale);
        else EncodeFloat<E5M2Layout>(source, destination, overflow, scale);
    }

    /// <summary>Encodes bfloat16 values (given as their 16 raw bits); bf16 widens exactly to float32.</summary>
    public static void Encode(ReadOnlySpan<ushort> bfloat16Source, Span<byte> destination, Fp8Format format,
        Fp8Overflow overflow = Fp8Overflow.Saturate)
    {
        CheckLengths(bfloat16Source.Length, destination.Length);
        if (format == Fp8Format.E4M3) EncodeBfloat16<E4M3Layout>(bfloat16Source, destination, overflow);
        else EncodeBfloat16<E5M2Layout>(bfloat16Source, destination, overflow);
    }

    /// <summary>Decodes codes into <c>decode(code) · scale</c>.</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<float> destination, Fp8Format format, float scale = 1f)
    {
        CheckLengths(source.Length, destination.Length);
        if (format == Fp8Format.E4M3) DecodeFloat<E4M3Layout>(source, destination, scale);
        else DecodeFloat<E5M2Layout>(source, destination, scale);
    }

    /// <summary>Decodes codes into bfloat16 bits; every E4M3 and E5M2 value is exact in bfloat16.</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<ushort> bfloat16Destination, Fp8Format format)
    {
        CheckLengths(source.Length, bfloat16Destination.Length);
        if (format == Fp8Format.E4M3) DecodeBfloat16<E4M3Layout>(source, bfloat16Destination);
        else DecodeBfloat16<E5M2Layout>(source, bfloat16Destination);
    }

    private static void EncodeFloat<T>(ReadOnlySpan<float> source, Span<byte> destination, Fp8Overflow overflow, float scale)
        where T : struct, IFp8Layout
    {
        var overflowCode = Fp8Lanes<T>.OverflowCode(overflow);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var limit = Vector256.Create(overflowCode);
            var divisor = Vector256.Create(scale);
            var divide = scale != 1f;
            ref var src = ref MemoryMarshal.GetReference(source);
            ref var dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Step; i += Step)
            {
                var c0 = Fp8Lanes<T>.Encode(Load(ref src, i, divide, divisor), limit);
                var c1 = Fp8Lanes<T>.Encode(Load(ref src, i + 8, divide, divisor), limit);
                var c2 = Fp8Lanes<T>.Encode(Load(ref src, i + 16, divide, divisor), limit);
                var c3 = Fp8Lanes<T>.Encode(Load(ref src, i + 24, divide, divisor), limit);
                StoreBytes(c0, c1, c2, c3, ref dst, i);
            }
        }

        for (; i < source.Length; i++)
        {
            var value = scale == 1f ? source[i] : source[i] / scale;
            destination[i] = (byte)Fp8Lanes<T>.Encode(BitConverter.SingleToUInt32Bits(value), overflowCode);
        }
    }

    private static void EncodeBfloat16<T>(ReadOnlySpan<ushort> source, Span<byte> destination, Fp8Overflow overflow)
        where T : struct, IFp8Layout
    {
        var overflowCode = Fp8Lanes<T>.OverflowCode(overflow);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var limit = Vector256.Create(overflowCode);
            ref var src = ref MemoryMarshal.GetReference(source);
            ref var dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Step; i += Step)
            {
                var low = Vector256.LoadUnsafe(ref src, (nuint)i);
                var high = Vector256.LoadUnsafe(ref src, (nuint)(i + 16));
                var c0 = Fp8Lanes<T>.Encode(Widen(Vector256.WidenLower(low)), limit);
                var c1 = Fp8Lanes<T>.Encode(Widen(Vector256.WidenUpper(low)), limit);
                var c2 = Fp8Lanes<T>.Encode(Widen(Vector256.WidenLower(high)), limit);
                var c3 = Fp8Lanes<T>.Encode(Widen(Vector256.WidenUpper(high)), limit);
                StoreBytes(c0, c1, c2, c3, ref dst, i);
            }
        }

        for (; i < source.Length; i++)
            destination[i] = (byte)Fp8Lanes<T>.Encode((uint)source[i] << 16, overflowCode);
    }

    private static void DecodeFloat<T>(ReadOnlySpan<byte> source, Span<float> destination, float scale)
        where T : struct, IFp8Layout
    {
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
                Store(Fp8Lanes<T>.Decode(Vector256.WidenLower(lo).AsInt32()), ref dst, i, factor);
                Store(Fp8Lanes<T>.Decode(Vector256.WidenUpper(lo).AsInt32()), ref dst, i + 8, factor);
                Store(Fp8Lanes<T>.Decode(Vector256.WidenLower(hi).AsInt32()), ref dst, i + 16, factor);
                Store(Fp8Lanes<T>.Decode(Vector256.WidenUpper(hi).AsInt32()), ref dst, i + 24, factor);
            }
        }

        for (; i < source.Length; i++)
            destination[i] = BitConverter.UInt32BitsToSingle(Fp8Lanes<T>.Decode(source[i])) * scale;
    }

    private static void DecodeBfloat16<T>(ReadOnlySpan<byte> source, Span<ushort> destination)
        where T : struct, IFp8Layout
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var src = ref MemoryMarshal.GetReference(source);
            ref var dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Step; i += Step)
            {
                var bytes = Vector256.LoadUnsafe(ref src, (nuint)i);
                var (lo, hi) = (Vector256.WidenLower(bytes), Vector256.WidenUpper(bytes));
                var f0 = Vector256.ShiftRightLogical(Fp8Lanes<T>.Decode(Vector256.WidenLower(lo).AsInt32()).AsUInt32(), 16);
                var f1 = Vector256.ShiftRightLogical(Fp8Lanes<T>.Decode(Vector256.WidenUpper(lo).AsInt32()).AsUInt32(), 16);
                var f2 = Vector256.ShiftRightLogical(Fp8Lanes<T>.Decode(Vector256.WidenLower(hi).AsInt32()).AsUInt32(), 16);
                var f3 = Vector256.ShiftRightLogical(Fp8Lanes<T>.Decode(Vector256.WidenUpper(hi).AsInt32()).AsUInt32(), 16);
                Vector256.Narrow(f0, f1).StoreUnsafe(ref dst, (nuint)i);
                Vector256.Narrow(f2, f3).StoreUnsafe(ref dst, (nuint)(i + 16));
            }
        }

        for (; i < source.Length; i++)
            destination[i] = (ushort)(Fp8Lanes<T>.Decode(source[i]) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Load(ref float source, int offset, bool divide, Vector256<float> divisor)
    {
        var values = Vector256.LoadUnsafe(ref source, (nuint)offset);
        if (divide) values /= divisor;
        return values.AsInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Widen(Vector256<uint> bfloat16Bits) => Vector256.ShiftLeft(bfloat16Bits, 16).AsInt32();

    // Codes are in 0..255, so narrowing cannot saturate. On AVX2 the saturating packs need no masking:
    // three instructions and one permute restore the order the in-lane packs interleave.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBytes(Vector256<int> c0, Vector256<int> c1, Vector256<int> c2, Vector256<int> c3, ref byte destination, int offset)
    {
        Vector256<byte> bytes;
        if (Avx2.IsSupported)
        {
            var packed = Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(c0, c1), Avx2.PackSignedSaturate(c2, c3));
            bytes = Avx2.PermuteVar8x32(packed.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsByte();
        }
        else
        {
            bytes = Vector256.Narrow(Vector256.Narrow(c0.AsUInt32(), c1.AsUInt32()), Vector256.Narrow(c2.AsUInt32(), c3.AsUInt32()));
        }

        bytes.StoreUnsafe(ref destination, (nuint)offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<int> bits, ref float destination, int offset, Vector256<float> factor) =>
        (bits.AsSingle() * factor).StoreUnsafe(ref destination, (nuint)offset);

    private static void CheckLengths(int source, int destination)
    {
        if (destination < source)
            throw new ArgumentException($"Destination holds {destination} elements; the source has {source}.", nameof(destination));
    }
}
