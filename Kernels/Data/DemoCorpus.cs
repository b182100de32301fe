using System.Text;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// Writes a synthetic English-like corpus with learnable structure (see the grammar in
/// DemoSentences), generated from a seed so nothing is downloaded and nothing large lives in git.
/// </summary>
public static class DemoCorpus
{
    /// <summary>Default corpus size: about 2 MB of text.</summary>
    public const int DefaultBytes = 2_000_000;

    /// <summary>Bytes per document file; several files give the dataset several documents.</summary>
    public const int BytesPerFile = 64 * 1024;

    /// <summary>
    /// Writes files named <c>demo-NNNN.txt</c> holding about <paramref name="approximateBytes"/> of
    /// ASCII text in total into <paramref name="directory"/>, and returns their paths in order.
    /// The same (size, seed) always writes byte-identical files.
    /// </summary>
    public static IReadOnlyList<string> Write(string directory, int approximateBytes = DefaultBytes, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(approximateBytes, 1);
        Directory.CreateDirectory(directory);

        var random = new SplitMix64(seed);
        var files = new List<string>();
        var remaining = approximateBytes;
        var text = new StringBuilder(BytesPerFile + 256);
        while (remaining > 0)
        {
            var target = Math.Min(remaining, BytesPerFile);
            text.Clear();
            while (text.Length < target)
            {
                DemoSentences.Append(text, ref random);
            }

            var path = Path.Combine(directory, $"demo-{files.Count:D4}.txt");

            // The grammar is pure ASCII, so characters are bytes.
            File.WriteAllText(path, text.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            files.Add(path);
            remaining -= text.Length;
        }

        return files;
    }
}
