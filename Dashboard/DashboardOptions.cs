namespace Orchestrator.Dashboard;

/// <summary>
/// What the dashboard needs from its host: who may sign in (token hashes), which named model configs
/// the job form offers and how to read them, and a default data folder for the form.
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
}
