namespace Orchestrator.Dashboard;

/// <summary>
/// What the dashboard needs from its host: who may sign in (token hashes), which named model configs
/// the job form offers and how to read them, a default data folder for the form, and the streams' and
/// sign-in's timings (bound from <see cref="Section"/>).
/// </summary>
public sealed class DashboardOptions
{
    /// <summary>
    /// Hashes of the API tokens that may sign in, each <c>sha256:&lt;64 hex digits&gt;</c>
    /// (see <see cref="Security.ApiTokens.Hash"/>). Tokens themselves are never stored or logged.
    /// </summary>
    public IList<string> TokenHashes { get; } = [];

    /// <summary>Config names the job form lists (e.g. <c>tiny</c>); each must resolve through <see cref="ResolveConfig"/>.</summary>
    public IList<string> ConfigNames { get; } = [];

    /// <summary>Maps a config name to its JSON, or null if there is none (the job spec's <c>"config"</c> field).</summary>
    public Func<string, string?>? ResolveConfig { get; set; }

    /// <summary>The data folder the job form proposes (as the silos see it), or null.</summary>
    public string? DefaultDataDirectory { get; set; }

    /// <summary>How often the live streams (server-sent events) look for news.</summary>
    public TimeSpan StreamInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a stream waits for a grain's answer before it skips the tick (a grain on a silo that just died
    /// answers only once the death is declared; the next tick reaches its new activation).
    /// </summary>
    public TimeSpan StreamCallTimeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>After how long without news the cluster stream sends a ping (keeps proxies from closing it).</summary>
    public TimeSpan StreamPing { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a browser's sign-in lasts without use (the cookie slides with each request).</summary>
    public TimeSpan SignInLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>The configuration section the timings are bound from (<c>Orchestrator:Dashboard:StreamInterval</c>, …).</summary>
    public const string Section = "Orchestrator:Dashboard";
}
