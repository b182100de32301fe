namespace Orchestrator.Kernels.Fp8;

/// <summary>How the modelled limited-precision accumulator rounds its running sum after each addition.</summary>
public enum AccumulatorRounding
{
    /// <summary>
    /// Drop the bits below the kept mantissa (round toward zero), the behaviour of an alignment shifter
    /// that discards what falls off the end: the default, since that bias is what makes long-K sums drift.
    /// </summary>
    TowardZero,

    /// <summary>Round to nearest, ties to even: an optimistic model whose errors mostly cancel.</summary>
    NearestEven,
}
