namespace Orchestrator.Kernels.Native;

/// <summary>
/// A native library of the project's that a process may or may not have (the CUDA kernels, the ATen bridge): loaded
/// once, from a path given or the one an environment variable names (the file, or a folder holding it); when it is
/// absent or does not load, <see cref="Status"/> says why and callers keep their plain TorchSharp path.
/// </summary>
/// <typeparam name="TApi">The library's bound entry points.</typeparam>
internal sealed class OptionalLibrary<TApi>(string name, string fileName, string environmentVariable, string buildScript, Func<string, TApi> load)
    where TApi : class
{
    private readonly object _gate = new();
    private TApi? _api;
    private string? _failure;
    private string? _path;

    /// <summary>The loaded entry points, or null.</summary>
    public TApi? Api => _api;

    /// <summary>Where the library was loaded from, or why it was not (for the log).</summary>
    public string Status => _api is not null ? $"loaded from {_path}" : _failure ?? "not loaded";

    /// <summary>
    /// Loads the library once: from <paramref name="path"/>, else from the environment variable; false (the reason in
    /// <see cref="Status"/>) when neither names a usable library. <paramref name="beforeLoad"/> runs once a path is known.
    /// </summary>
    public bool TryLoad(string? path, Action? beforeLoad = null)
    {
        lock (_gate)
        {
            if (_api is not null) return true;
            var requested = path ?? Environment.GetEnvironmentVariable(environmentVariable);
            if (string.IsNullOrWhiteSpace(requested))
            {
                _failure = $"not loaded: no path given and {environmentVariable} is not set";
                return false;
            }

            beforeLoad?.Invoke();
            try
            {
                var resolved = Resolve(requested);
                _api = load(resolved);
                _path = resolved;
                _failure = null;
                return true;
            }
            catch (Exception e) when (e is DllNotFoundException or FileNotFoundException or EntryPointNotFoundException or InvalidOperationException or BadImageFormatException)
            {
                _failure = $"not loaded: {e.Message}";
                return false;
            }
        }
    }

    /// <summary>The file a path names: the path itself, or the library's file inside a folder.</summary>
    public string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) full = Path.Combine(full, fileName);
        if (!File.Exists(full))
            throw new FileNotFoundException($"the {name} '{full}' does not exist (build it on a GPU node with {buildScript}, then point {environmentVariable} at it)", full);
        return full;
    }
}
