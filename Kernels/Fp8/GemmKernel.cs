using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// The GEMM's inner loop: 16 output columns (four double vectors held in registers) accumulate
/// <c>a[k]·B[k, 0..15]</c> over a K-range, rounding after every addition. Specialised per rounding
/// mode through <typeparamref name="TRounding"/> so that the loop carries no per-step branch.
/// </summary>
internal static class GemmKernel<TRounding>
    where TRounding : struct, IAccumulatorRounding
{
    public static void Accumulate(ReadOnlySpan<float> a, ReadOnlySpan<Vector256<double>> panel, ref GemmLanes sum,
        in GemmLanes ratio, bool applyRatio, in AccumulatorRounder rounder)
    {
        if (panel.Length < a.Length * 4) throw new ArgumentException("The B panel is shorter than the K-range.", nameof(panel));
        var (s0, s1, s2, s3) = (sum.V0, sum.V1, sum.V2, sum.V3);
        var (r0, r1, r2, r3) = (ratio.V0, ratio.V1, ratio.V2, ratio.V3);
        ref var b = ref MemoryMarshal.GetReference(panel);
        if (applyRatio)
        {
            for (var k = 0; k < a.Length; k++)
            {
                var av = Vector256.Create((double)a[k]);
                ref var row = ref Unsafe.Add(ref b, k * 4);
                s0 = TRounding.Round(s0 + (av * row * r0), rounder);
                s1 = TRounding.Round(s1 + (av * Unsafe.Add(ref row, 1) * r1), rounder);
                s2 = TRounding.Round(s2 + (av * Unsafe.Add(ref row, 2) * r2), rounder);
                s3 = TRounding.Round(s3 + (av * Unsafe.Add(ref row, 3) * r3), rounder);
            }
        }
        else
        {
            for (var k = 0; k < a.Length; k++)
            {
                var av = Vector256.Create((double)a[k]);
                ref var row = ref Unsafe.Add(ref b, k * 4);
                s0 = TRounding.Round(s0 + (av * row), rounder);
                s1 = TRounding.Round(s1 + (av * Unsafe.Add(ref row, 1)), rounder);
                s2 = TRounding.Round(s2 + (av * Unsafe.Add(ref row, 2)), rounder);
                s3 = TRounding.Round(s3 + (av * Unsafe.Add(ref row, 3)), rounder);
            }
        }

        sum = new GemmLanes(s0, s1, s2, s3);
    }
}

/// <summary>A rounding of the limited accumulator, as a type so that the kernel is specialised per mode.</summary>
internal interface IAccumulatorRounding
{
    static abstract Vector256<double> Round(Vector256<double> value, in AccumulatorRounder rounder);
}

/// <summary>Round toward zero: drop the bits below the kept mantissa.</summary>
internal readonly struct TowardZeroRounding : IAccumulatorRounding
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Round(Vector256<double> value, in AccumulatorRounder rounder) => rounder.Truncate(value);
}

/// <summary>Round to nearest, ties to even.</summary>
internal readonly struct NearestEvenRounding : IAccumulatorRounding
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Round(Vector256<double> value, in AccumulatorRounder rounder) => rounder.Apply(value);
}
