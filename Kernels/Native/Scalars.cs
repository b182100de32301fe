using System.Collections.Concurrent;
using TorchSharp;

namespace Orchestrator.Kernels.Native;

/// <summary>
/// Long-lived TorchSharp scalars. TorchSharp 0.107's <see cref="Scalar"/> frees its native value in
/// a finalizer, and its ops read <c>Scalar.Handle</c> without keeping the object alive; a temporary
/// scalar (the implicit conversion in <c>x.pow(2)</c> or <c>x * 0.5</c>, and TorchSharp's own <c>square()</c>, which
/// is <c>pow(2)</c> with a temporary scalar inside) can therefore be finalized
/// by the GC during the native call and freed under libtorch — seen here as a random
/// "Unknown scalar type" after hundreds of training steps. Compute code passes scalars from this
/// cache (constants: alive for the process) or holds per-call ones in a <c>using</c> variable, which
/// keeps them reachable until the call has returned.
/// </summary>
public static class Scalars
{
    private static readonly ConcurrentDictionary<double, Scalar> Cache = new();
    private static readonly ConcurrentDictionary<long, Scalar> Integers = new();

    /// <summary>A scalar for a constant of the computation (a config value, a format's maximum); never freed.</summary>
    public static Scalar Of(double value) => Cache.GetOrAdd(value, v => v.ToScalar());

    /// <summary>An integer constant (keeps integer tensors integer, e.g. in index arithmetic); never freed.</summary>
    public static Scalar OfInteger(long value) => Integers.GetOrAdd(value, v => v.ToScalar());

    /// <summary>
    /// The integer 1, as the alpha of <c>a.add(b, Scalars.One)</c>: TorchSharp's <c>a + b</c> is <c>add(b, 1)</c>
    /// with a temporary alpha scalar, which the finalizer can free during the native call (seen in a soak
    /// run: "Expected false to be true" from <c>toFloat</c> inside <c>add_Tensor</c>). Same kernel, same bits.
    /// </summary>
    public static Scalar One => OfInteger(1);
}
