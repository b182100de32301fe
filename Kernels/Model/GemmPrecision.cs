namespace Orchestrator.Kernels.Model;

/// <summary>Precision of the inputs of a projection's matrix products; weights stay FP32 masters.</summary>
public enum GemmPrecision
{
    Float32,
    BFloat16,
    Fp8,
}

/// <summary>Parsing of the config's <c>dtype</c> value.</summary>
public static class GemmPrecisionNames
{
    /// <summary>Maps "float32" | "bfloat16" | "fp8" to the enum.</summary>
    public static GemmPrecision Parse(string name) => name switch
    {
        "float32" => GemmPrecision.Float32,
        "bfloat16" => GemmPrecision.BFloat16,
        "fp8" => GemmPrecision.Fp8,
        _ => throw new ArgumentException($"model.dtype: unknown precision \"{name}\" (float32, bfloat16, fp8)", nameof(name)),
    };
}
