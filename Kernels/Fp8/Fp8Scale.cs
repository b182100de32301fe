namespace Orchestrator.Kernels.Fp8;

/// <summary>Per-tile scale factors, computed online from the tile's max-abs.</summary>
public static class Fp8Scale
{
    /// <summary>
    /// The scale for a tile whose largest magnitude is <paramref name="maxAbs"/> (finite, ≥ 0).
    /// An all-zero tile gets scale 1 (any positive scale encodes zeros; 1 keeps it readable). The
    /// result is never below <see cref="float.Epsilon"/>, so dividing by it cannot give infinity.
    /// </summary>
    public static float ForMaxAbs(float maxAbs, Fp8Format format, Fp8ScaleMode mode = Fp8ScaleMode.Exact)
    {
        if (!float.IsFinite(maxAbs) || maxAbs < 0)
            throw new ArgumentOutOfRangeException(nameof(maxAbs), maxAbs, "A tile's max-abs must be finite and non-negative.");
        if (maxAbs == 0) return 1f;
        var scale = Math.Max(maxAbs / format.MaxFinite, float.Epsilon);
        if (mode == Fp8ScaleMode.Exact) return scale;

        var power = MathF.ScaleB(1f, MathF.ILogB(scale));
        if (power < scale) power *= 2;
        // The division maxAbs / max rounded; make sure the power of two really bounds the tile.
        while (maxAbs / power > format.MaxFinite) power *= 2;
        return power;
    }
}
