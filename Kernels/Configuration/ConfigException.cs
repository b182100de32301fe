namespace Orchestrator.Kernels.Configuration;

/// <summary>A config that cannot be used; every problem names the field it is about.</summary>
public sealed class ConfigException(string source, IReadOnlyList<string> problems)
    : Exception($"{source} is not a usable config:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", problems)}")
{
    /// <summary>One line per problem, each starting with the field's path (e.g. <c>model.n_heads</c>).</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}
