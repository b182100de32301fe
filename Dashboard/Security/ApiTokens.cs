using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Dashboard.Security;

/// <summary>
/// API tokens: random, 32 bytes, URL-safe base64; kept only as <c>sha256:&lt;hex&gt;</c> hashes. A
/// token has 256 bits of entropy, so one SHA-256 is enough (a slow hash protects guessable passwords,
/// which tokens are not).
/// </summary>
public static class ApiTokens
{
    private const string Prefix = "sha256:";

    /// <summary>A new random token.</summary>
    public static string Generate() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The hash a configuration holds for <paramref name="token"/>.</summary>
    public static string Hash(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>Checks a configured hash's form.</summary>
    /// <exception cref="ArgumentException">It is not <c>sha256:</c> followed by 64 hex digits.</exception>
    public static byte[] ParseHash(string hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        var hex = hash.StartsWith(Prefix, StringComparison.Ordinal) ? hash[Prefix.Length..] : string.Empty;
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
            throw new ArgumentException("a dashboard token hash is 'sha256:' followed by 64 hex digits (see `orchestrator dashboard-token`)", nameof(hash));
        return Convert.FromHexString(hex);
    }

    /// <summary>True when <paramref name="token"/> hashes to one of <paramref name="hashes"/> (constant time per hash).</summary>
    public static bool Matches(string? token, IEnumerable<byte[]> hashes)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        if (string.IsNullOrEmpty(token) || token.Length > 512) return false;
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        var found = false;
        foreach (var hash in hashes) found |= CryptographicOperations.FixedTimeEquals(digest, hash);
        return found;
    }
}
