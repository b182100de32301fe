using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// The routed experts a rank holds, registered under their global index ("experts.5.w1.weight"),
/// so that a parameter has the same name — and so the same initial value and checkpoint key —
/// whichever rank holds it.
/// </summary>
public sealed partial class ExpertSet : nn.Module
{
    /// <summary>
    /// A routed expert's tensor name has the segment <c>experts.N.</c> (the layer registers the set under its
    /// field name, <c>_experts</c>; shared experts are <c>_shared.</c>).
    /// </summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(^|\.)_?experts\.[0-9]+\.", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex RoutedExpertName();

    private readonly FeedForward?[] _experts;

    public ExpertSet(string name, int experts, Func<int, bool> owns, Func<int, FeedForward> create) : base(name)
    {
        _experts = new FeedForward?[experts];
        for (var e = 0; e < experts; e++)
        {
            if (!owns(e)) continue;
            _experts[e] = create(e);
            register_module(Key(e), _experts[e]!);
        }
    }

    /// <summary>Expert <paramref name="index"/>, which this rank must hold.</summary>
    public FeedForward this[int index] => _experts[index]
        ?? throw new InvalidOperationException($"routed expert {index} is not held by this rank");

    public bool Holds(int index) => _experts[index] is not null;

    /// <summary>Takes on expert <paramref name="index"/> (a re-placement moved a copy here), under its global index.</summary>
    public void Add(int index, FeedForward expert)
    {
        if (_experts[index] is not null) throw new InvalidOperationException($"routed expert {index} is already held by this rank");
        _experts[index] = expert;
        register_module(Key(index), expert);
    }

    /// <summary>Lets go of expert <paramref name="index"/> (a re-placement moved it away) and returns it, for the caller to dispose.</summary>
    public FeedForward Remove(int index)
    {
        var expert = this[index];
        _experts[index] = null;
        register_module(Key(index), null!); // TorchSharp removes a submodule registered as null
        return expert;
    }

    private static string Key(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True for the name of a routed expert's parameter (or anything named after one, such as its moments).</summary>
    public static bool IsRoutedExpertName(string name) => RoutedExpertName().IsMatch(name);
}
