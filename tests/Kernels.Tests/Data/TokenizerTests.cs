using FsCheck.Xunit;
using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Tests.Data;

public sealed class TokenizerTests
{
    [Fact]
    public void Gpt2_EncodesHelloWorldToKnownIds()
    {
        var tokenizer = new Gpt2Tokenizer();

        Assert.Equal([15496, 995], tokenizer.Encode("Hello world"));
        Assert.Equal(50257, tokenizer.VocabSize);
        Assert.Equal(50256, tokenizer.EndOfText);
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("Grüße aus Köln — naïve café, 東京 🚀")]
    [InlineData("  leading spaces\nand\ttabs\n")]
    public void Gpt2_DecodeInvertsEncode(string text)
    {
        var tokenizer = new Gpt2Tokenizer();

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Gpt2_MatchesLibraryGpt2ModelOnOrdinaryText()
    {
        // Our tokenizer rebuilds GPT-2 from the packaged ranks; it must agree with the library's own.
        const string text = "It's 3:45pm -- they'd've paid $1,234.50 for   naïve 東京 cafés!\n\n  Done.";
        var reference = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt2");

        Assert.Equal(reference.EncodeToIds(text), new Gpt2Tokenizer().Encode(text));
    }

    [Fact]
    public void Gpt2_DecodesEndOfTextToItsMarker()
    {
        var tokenizer = new Gpt2Tokenizer();

        Assert.Equal("Hello<|endoftext|>", tokenizer.Decode([15496, 50256]));
    }

    [Fact]
    public void Bytes_EncodesNonAsciiAsUtf8Bytes()
    {
        var tokenizer = new ByteTokenizer();

        Assert.Equal([0x47, 0xC3, 0xBC, 0xF0, 0x9F, 0x9A, 0x80], tokenizer.Encode("Gü🚀"));
    }

    [Fact]
    public void Bytes_DecodesEndOfTextBetweenDocuments()
    {
        var tokenizer = new ByteTokenizer();
        int[] tokens = [.. tokenizer.Encode("ä"), tokenizer.EndOfText, .. tokenizer.Encode("b")];

        Assert.Equal("ä<|endoftext|>b", tokenizer.Decode(tokens));
        Assert.Equal(257, tokenizer.VocabSize);
    }

    [Property]
    public bool Bytes_DecodeInvertsEncodeForAnyString(string? text)
    {
        // Lone surrogates have no UTF-8 form; the encoder writes U+FFFD for them, so compare to that.
        var expected = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(text ?? ""));
        var tokenizer = new ByteTokenizer();
        return tokenizer.Decode(tokenizer.Encode(text ?? "")) == expected;
    }

    [Fact]
    public void Gpt2_TreatsEndOfTextSpellingInTextAsPlainText()
    {
        var tokenizer = new Gpt2Tokenizer();

        Assert.DoesNotContain(tokenizer.EndOfText, tokenizer.Encode("a<|endoftext|>b"));
    }

    [Theory]
    [InlineData("gpt2", typeof(Gpt2Tokenizer))]
    [InlineData("GPT2", typeof(Gpt2Tokenizer))]
    [InlineData("bytes", typeof(ByteTokenizer))]
    public void Catalog_CreatesTokenizerByName(string name, Type expected)
    {
        Assert.IsType(expected, TokenizerCatalog.Create(name));
    }

    [Fact]
    public void Catalog_RejectsUnknownNameListingValidOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => TokenizerCatalog.Create("sentencepiece"));

        Assert.Contains("sentencepiece", error.Message, StringComparison.Ordinal);
        Assert.Contains("gpt2", error.Message, StringComparison.Ordinal);
        Assert.Contains("bytes", error.Message, StringComparison.Ordinal);
    }
}
