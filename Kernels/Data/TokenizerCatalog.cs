namespace Orchestrator.Kernels.Data;

/// <summary>Creates tokenizers by the name a dataset index records.</summary>
public static class TokenizerCatalog
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [Gpt2Tokenizer.CatalogName, ByteTokenizer.CatalogName];

    /// <summary>Returns the tokenizer called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not in <see cref="Names"/>.</exception>
    public static ITextTokenizer Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            Gpt2Tokenizer.CatalogName => new Gpt2Tokenizer(),
            ByteTokenizer.CatalogName => new ByteTokenizer(),
            _ => throw new ArgumentException(
                $"Unknown tokenizer '{name}'. Valid tokenizers: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
