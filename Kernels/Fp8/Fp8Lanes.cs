using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// The bit-manipulation kernels behind <see cref="Fp8Codec"/>: float32 bits ↔ FP8 codes, one lane
/// at a time (scalar tail) or eight lanes at a time (<see cref="Vector256{T}"/>). Both forms are the
/// same integer recipe, so the tail and the body cannot disagree.
/// </summary>
internal readonly struct Fp8Lanes
{
    private const uint AbsMask = 0x7FFF_FFFF;
    private const uint InfinityBits = 0x7F80_0000;
    private static readonly uint NaNBits = BitConverter.SingleToUInt32Bits(float.NaN);

    private readonly int _shift;          // 23 - m: float mantissa bits dropped by the code
    private readonly uint _roundHalf;     // 2^(shift-1) - 1: "round half up" bias, the LSB makes it even
    private readonly uint _rebias;        // (127 - bias) << m: float exponent field → FP8 exponent field
    private readonly uint _minNormalBits; // float bits of the format's smallest normal value
    private readonly float _subnormalMagic; // 2^(emin - m + 23): its ULP is the FP8 subnormal spacing
    private readonly uint _maxFiniteCode;
    private readonly uint _overflowCode;
    private readonly uint _canonicalNaN;
    private readonly uint _infinityCode;  // 0x7C for E5M2; 0x100 (never matches) for E4M3
    private readonly float _minSubnormal;
    private readonly uint _exponentRebias; // (127 - bias) << 23, for decoding

    public Fp8Lanes(Fp8Format format, Fp8Overflow overflow)
    {
        var m = format.MantissaBits;
        _shift = 23 - m;
        _roundHalf = (1u << (_shift - 1)) - 1;
        _rebias = (uint)(127 - format.Bias) << m;
        _minNormalBits = BitConverter.SingleToUInt32Bits(format.MinNormal);
        _subnormalMagic = MathF.ScaleB(1f, format.MinNormalExponent - m + 23);
        _maxFiniteCode = format.MaxFiniteCode;
        _overflowCode = overflow == Fp8Overflow.Saturate ? format.MaxFiniteCode : format.PositiveInfinityOrNaN;
        _canonicalNaN = format.CanonicalNaN;
        _infinityCode = format.HasInfinity ? 0x7Cu : 0x100u;
        _minSubnormal = format.MinSubnormal;
        _exponentRebias = (uint)(127 - format.Bias) << 23;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Encode(uint bits)
    {
        var abs = bits & AbsMask;
        if (abs > InfinityBits) return _canonicalNaN;
        uint code;
        if (abs < _minNormalBits)
        {
            // Adding the magic number makes the FPU round (to nearest even) at the subnormal spacing.
            var sum = BitConverter.UInt32BitsToSingle(abs) + _subnormalMagic;
            code = BitConverter.SingleToUInt32Bits(sum) - BitConverter.SingleToUInt32Bits(_subnormalMagic);
        }
        else
        {
            code = ((abs + _roundHalf + ((abs >> _shift) & 1)) >> _shift) - _rebias;
        }

        if (code > _maxFiniteCode) code = _overflowCode;
        return code | ((bits >> 24) & 0x80);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<uint> Encode(Vector256<uint> bits)
    {
        var abs = bits & Vector256.Create(AbsMask);
        var magic = Vector256.Create(_subnormalMagic);
        var subnormal = (abs.AsSingle() + magic).AsUInt32() - magic.AsUInt32();
        var normal = Vector256.ShiftRightLogical(
            abs + Vector256.Create(_roundHalf) + (Vector256.ShiftRightLogical(abs, _shift) & Vector256<uint>.One), _shift)
            - Vector256.Create(_rebias);
        var code = Vector256.ConditionalSelect(Vector256.LessThan(abs, Vector256.Create(_minNormalBits)), subnormal, normal);
        code = Vector256.ConditionalSelect(Vector256.GreaterThan(code, Vector256.Create(_maxFiniteCode)), Vector256.Create(_overflowCode), code);
        code |= Vector256.ShiftRightLogical(bits, 24) & Vector256.Create(0x80u);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(abs, Vector256.Create(InfinityBits)), Vector256.Create(_canonicalNaN), code);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Decode(uint code)
    {
        var magnitude = code & 0x7F;
        if (magnitude > _maxFiniteCode)
        {
            if (magnitude != _infinityCode) return NaNBits;
            return InfinityBits | ((code & 0x80) << 24);
        }

        var bits = magnitude < (1u << (23 - _shift))
            ? BitConverter.SingleToUInt32Bits(magnitude * _minSubnormal) // exact: a small integer times 2^k
            : (magnitude << _shift) + _exponentRebias;
        return bits | ((code & 0x80) << 24);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<uint> Decode(Vector256<uint> code)
    {
        var magnitude = code & Vector256.Create(0x7Fu);
        var subnormal = (Vector256.ConvertToSingle(magnitude.AsInt32()) * Vector256.Create(_minSubnormal)).AsUInt32();
        var normal = Vector256.ShiftLeft(magnitude, _shift) + Vector256.Create(_exponentRebias);
        var bits = Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(1u << (23 - _shift))), subnormal, normal);
        var special = Vector256.GreaterThan(magnitude, Vector256.Create(_maxFiniteCode));
        bits = Vector256.ConditionalSelect(special, Vector256.Create(InfinityBits), bits);
        bits |= Vector256.ShiftLeft(code & Vector256.Create(0x80u), 24);
        var nan = special & ~Vector256.Equals(magnitude, Vector256.Create(_infinityCode));
        return Vector256.ConditionalSelect(nan, Vector256.Create(NaNBits), bits);
    }
}
