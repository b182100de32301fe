namespace Orchestrator.Kernels.Data;

/// <summary>Sizes and choices for <see cref="TokenDType"/>.</summary>
public static class TokenDTypeExtensions
{
    /// <summary>Bytes one token occupies on disk.</summary>
    public static int ByteWidth(this TokenDType dtype) => dtype switch
    {
        TokenDType.UInt16 => 2,
        TokenDType.UInt32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown token dtype."),
    };

    /// <summary>The narrowest dtype that holds every id of a vocabulary of <paramref name="vocabSize"/> ids.</summary>
    public static TokenDType ForVocabulary(int vocabSize) =>
        vocabSize <= 65536 ? TokenDType.UInt16 : TokenDType.UInt32;
}
