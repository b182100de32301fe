using Microsoft.Extensions.Options;

namespace Orchestrator.Dashboard.Security;

/// <summary>The configured token hashes, checked once at start (a malformed hash stops the host, naming the setting).</summary>
public sealed class TokenStore
{
    private readonly IReadOnlyList<byte[]> _hashes;

    /// <summary>Reads the hashes of <see cref="DashboardOptions.TokenHashes"/>.</summary>
    public TokenStore(IOptions<DashboardOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _hashes = options.Value.TokenHashes.Select((h, i) =>
        {
            try
            {
                return ApiTokens.ParseHash(h);
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException($"Dashboard:TokenHashes:{i}: {e.Message}", e);
            }
        }).ToList();
    }

    /// <summary>True when the token is one of the configured ones.</summary>
    public bool IsValid(string? token) => ApiTokens.Matches(token, _hashes);
}
