using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Rounds running sums held in double to a limited number of explicit mantissa bits, by integer
/// operations on the bit pattern. Sums are formed in double first: that is exact for the short FP8
/// products against a ≤ 24-bit accumulator unless their exponents are ~30 binades apart (where the
/// product is far below the accumulator's ULP anyway), so each addition rounds exactly once.
/// The promotions of the limited modes into FP32 use 23 bits with ties-to-even (float's exponent range
/// is not modelled: the values here are far from it); the plain FP32 mode runs on real float lanes.
/// </summary>
internal readonly struct AccumulatorRounder
{
    private readonly int _drop;
    private readonly bool _nearestEven;
    private readonly Vector256<ulong> _keep;
    private readonly Vector256<ulong> _halfMinusOne;

    public AccumulatorRounder(int mantissaBits, bool nearestEven)
    {
        _drop = 52 - mantissaBits;
        _nearestEven = nearestEven;
        _keep = Vector256.Create(~((1UL << _drop) - 1));
        _halfMinusOne = Vector256.Create((1UL << (_drop - 1)) - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<double> Apply(Vector256<double> value)
    {
        // Sign-magnitude bits: adding to the pattern rounds the magnitude, so both signs round alike,
        // and masking truncates toward zero.
        var raw = value.AsUInt64();
        if (_nearestEven)
            raw += _halfMinusOne + (Vector256.ShiftRightLogical(raw, _drop) & Vector256<ulong>.One);
        return (raw & _keep).AsDouble();
    }

    /// <summary>Truncation only (round toward zero), whatever the configured mode.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<double> Truncate(Vector256<double> value) => (value.AsUInt64() & _keep).AsDouble();

    public GemmLanes Apply(GemmLanes value) => new(Apply(value.V0), Apply(value.V1), Apply(value.V2), Apply(value.V3));
}
