using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// The routed experts a rank holds, registered under their global index ("experts.5.w1.weight"),
/// so that a parameter has the same name — and so the same initial value and checkpoint key —
/// whichever rank holds it.
/// </summary>
public sealed class ExpertSet : nn.Module
{
    private readonly FeedForward?[] _experts;

    public ExpertSet(string name, int experts, Func<int, bool> owns, Func<int, FeedForward> create) : base(name)
    {
        _experts = new FeedForward?[experts];
        for (var e = 0; e < experts; e++)
        {
            if (!owns(e)) continue;
            _experts[e] = create(e);
            register_module(e.ToString(System.Globalization.CultureInfo.InvariantCulture), _experts[e]!);
        }
    }

    /// <summary>Expert <paramref name="index"/>, which this rank must hold.</summary>
    public FeedForward this[int index] => _experts[index]
        ?? throw new InvalidOperationException($"routed expert {index} is not held by this rank");

    public bool Holds(int index) => _experts[index] is not null;
}
