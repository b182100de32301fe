using System.Collections.Concurrent;
using Microsoft.AspNetCore.StaticFiles;

namespace Orchestrator.Dashboard.Pages;

/// <summary>The UI's files, embedded in the assembly under <c>wwwroot/</c>; read once, served from memory.</summary>
public static class EmbeddedAssets
{
    private static readonly ConcurrentDictionary<string, byte[]?> Cache = new(StringComparer.Ordinal);
    private static readonly FileExtensionContentTypeProvider Types = new();

    /// <summary>The file's bytes, or null if there is no such file.</summary>
    public static byte[]? Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Contains("..", StringComparison.Ordinal) || path.Contains('\\', StringComparison.Ordinal)) return null;
        return Cache.GetOrAdd(path, p =>
        {
            using var stream = typeof(EmbeddedAssets).Assembly.GetManifestResourceStream("wwwroot/" + p);
            if (stream is null) return null;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        });
    }

    /// <summary>The content type for a file name.</summary>
    public static string ContentType(string path) =>
        Types.TryGetContentType(path, out var type) ? type : "application/octet-stream";
}
