using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Configuration;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// DeepSeek-V3 routing: sigmoid affinities; a per-expert bias is added only to choose the top-k
/// (auxiliary-loss-free balancing); tokens are limited to the best <c>n_limited_groups</c> expert
/// groups (nodes), groups ranked by the sum of their top k/M biased affinities; gates are the
/// unbiased affinities normalised over the chosen experts, times route_scale. No token is dropped.
/// </summary>
public sealed class ExpertRouter(ModelConfig config)
{
    private readonly int _experts = config.RoutedExperts;
    private readonly int _topK = config.ActivatedExperts;
    private readonly int _groups = config.ExpertGroups;
    private readonly int _limitedGroups = config.LimitedGroups;
    private readonly bool _sigmoid = config.ScoreFunction == "sigmoid";
    private readonly double _routeScale = config.RouteScale;

    /// <summary>Routes tokens from their gate logits [N, E] and the current bias [E].</summary>
    public RouteDecision Route(Tensor logits, Tensor bias)
    {
        using var scope = NewDisposeScope();
        var scores = _sigmoid ? logits.sigmoid() : logits.softmax(-1);
        Tensor experts;
        using (no_grad())
        {
            var choice = scores.detach().add(bias, Scalars.One);
            if (_limitedGroups < _groups) choice = LimitToGroups(choice);
            experts = choice.topk(_topK, dim: -1, largest: true, sorted: true).indexes;
        }
        var gates = scores.gather(1, experts);
        if (_sigmoid) gates = gates / gates.sum(-1, keepdim: true);
        gates = gates.mul(Scalars.Of(_routeScale));
        return new RouteDecision(experts.MoveToOuterDisposeScope(), gates.MoveToOuterDisposeScope(), scores.MoveToOuterDisposeScope());
    }

    /// <summary>Masks every expert outside each token's best groups with −∞.</summary>
    private Tensor LimitToGroups(Tensor choice)
    {
        var tokens = choice.shape[0];
        var perGroup = _experts / _groups;
        var topPerGroup = Math.Clamp(_topK / _limitedGroups, 1, perGroup);
        var grouped = choice.view(tokens, _groups, perGroup);
        var groupScore = grouped.topk(topPerGroup, dim: -1).values.sum(-1);
        var chosenGroups = groupScore.topk(_limitedGroups, dim: -1).indexes;
        var keep = zeros(tokens, _groups, dtype: ScalarType.Bool, device: chosenGroups.device).scatter(1, chosenGroups, ones_like(chosenGroups, dtype: ScalarType.Bool));
        return grouped.masked_fill(keep.logical_not().unsqueeze(-1), Scalars.Of(double.NegativeInfinity)).view(tokens, _experts);
    }

    /// <summary>Tokens routed to each expert: bincount of the choices, [E] int64.</summary>
    public Tensor Loads(Tensor experts) => experts.flatten().bincount(null, _experts);

    /// <summary>
    /// Sequence-wise balance loss (V3 eq. 17–20): α·Σ_i f_i·P_i per sequence, averaged over sequences,
    /// with f_i = E/(k·T)·#{t: i chosen for t} and P_i = mean_t of the affinities normalised per token.
    /// </summary>
    public Tensor BalanceLoss(RouteDecision route, long sequences, long length, double alpha)
    {
        using var scope = NewDisposeScope();
        var normalised = route.Scores / route.Scores.sum(-1, keepdim: true);
        var p = normalised.view(sequences, length, _experts).mean([1]);
        Tensor f;
        using (no_grad())
        {
            var chosen = zeros(sequences * length, _experts, dtype: ScalarType.Float32, device: route.Experts.device)
                .scatter(1, route.Experts, ones(route.Experts.shape, dtype: ScalarType.Float32, device: route.Experts.device));
            f = chosen.view(sequences, length, _experts).sum([1]).mul(Scalars.Of((double)_experts / (_topK * length)));
        }
        return (f * p).sum(-1).mean().mul(Scalars.Of(alpha)).MoveToOuterDisposeScope();
    }
}
