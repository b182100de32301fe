using Orchestrator.Dashboard;

namespace Orchestrator.Silo.Cluster;

/// <summary>Where a silo serves the dashboard, and with what options.</summary>
/// <param name="Url">The URL Kestrel listens on, e.g. <c>http://127.0.0.1:5080</c>.</param>
/// <param name="Configure">Sets the dashboard's options (token hashes, configs, default data).</param>
public sealed record DashboardHosting(string Url, Action<DashboardOptions> Configure)
{
    /// <summary>The dashboard of a silo: the given token hashes, the configs the silo can resolve.</summary>
    public static DashboardHosting For(string url, IEnumerable<string> tokenHashes, string? defaultData = null) =>
        new(url, o =>
        {
            foreach (var hash in tokenHashes) o.TokenHashes.Add(hash);
            foreach (var name in ConfigCatalog.Names()) o.ConfigNames.Add(name);
            o.ResolveConfig = ConfigCatalog.Resolver(null);
            o.DefaultDataDirectory = defaultData;
        });

    /// <summary>The URL for <c>--dashboard-url</c> or <c>--dashboard-port</c> (loopback); null when neither is set.</summary>
    /// <exception cref="ArgumentException">The URL or port is not usable.</exception>
    public static string? UrlOf(string? url, int? port)
    {
        if (!string.IsNullOrWhiteSpace(url))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
                throw new ArgumentException($"--dashboard-url: '{url}' is not an http(s)://host:port URL");
            return url;
        }

        if (port is null) return null;
        if (port is < 0 or > 65535) throw new ArgumentException($"--dashboard-port: {port} is not a TCP port");
        return $"http://127.0.0.1:{port}";
    }
}
