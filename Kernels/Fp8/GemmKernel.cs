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
    /// <summary>
    /// sum = round(sum + (a[k]·aFactor)·B[k]) for each k. <paramref name="aFactor"/> is 1 except without
    /// promotion, where it carries the row's scale relative to K-block 0.
    /// </summary>
    public static void Accumulate(ReadOnlySpan<float> a, double aFactor, ReadOnlySpan<Vector256<double>> panel, ref GemmLanes sum,
        in AccumulatorRounder rounder)
    {
        if (panel.Length < a.Length * 4) throw new ArgumentException("The B panel is shorter than the K-range.", nameof(panel));
        var (s0, s1, s2, s3) = (sum.V0, sum.V1, sum.V2, sum.V3);
        ref var b = ref MemoryMarshal.GetReference(panel);
        for (var k = 0; k < a.Length; k++)
        {
            var av = Vector256.Create(a[k] * aFactor);
            ref var row = ref Unsafe.Add(ref b, k * 4);
            s0 = TRounding.Round(s0 + (av * row), rounder);
            s1 = TRounding.Round(s1 + (av * Unsafe.Add(ref row, 1)), rounder);
            s2 = TRounding.Round(s2 + (av * Unsafe.Add(ref row, 2)), rounder);
            s3 = TRounding.Round(s3 + (av * Unsafe.Add(ref row, 3)), rounder);
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
