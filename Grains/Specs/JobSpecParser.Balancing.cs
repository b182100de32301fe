using System.Text.Json.Nodes;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The spec's expert re-placement: <c>parallel.redundant_experts</c> (extra slots per MoE layer for replicas of hot
/// experts) and the <c>balancing</c> object {"replace_every": N, "replace_imbalance": x, "replace_window": N, "nodes": N}
/// (at least one of the first two; absent: experts never move). Both need expert parallelism, no pipeline stages (a stage's
/// gradients have no replica sum, and no stage asks for a placement) and real ranks (a simulated rank models its loads
/// without an expert map, so nothing would move).
/// </summary>
public static partial class JobSpecParser
{
    private static readonly HashSet<string> BalancingFields = ["replace_every", "replace_imbalance", "replace_window", "nodes"];

    /// <summary>The layout with its redundant slots, refused naming the field when the slots cannot be laid out.</summary>
    private static ParallelSpec RedundantExperts(JsonObject parallel, ParallelSpec layout, ModelConfig model)
    {
        var redundant = Integer(parallel, "redundant_experts", "parallel.redundant_experts", required: false, min: 0) ?? 0;
        if (redundant == 0) return layout;
        if (layout.Ep < 2) throw new JobSpecException("parallel.redundant_experts", "replicas need expert parallelism (parallel.ep > 1)");
        if (layout.Stages > 1) throw new JobSpecException("parallel.redundant_experts", "replicas are not supported with pipeline stages (parallel.pp > 1)");
        var experts = model.RoutedExperts;
        if ((experts + redundant) % layout.Ep != 0)
            throw new JobSpecException("parallel.redundant_experts",
                $"{experts} experts + {redundant} redundant = {experts + redundant} slots do not divide evenly over {layout.Ep} EP ranks");
        if (redundant > (long)experts * (layout.Ep - 1))
            throw new JobSpecException("parallel.redundant_experts",
                $"{redundant} redundant slots are more than the {experts} experts × {layout.Ep - 1} other ranks can hold without two copies on one rank");
        return layout with { RedundantExperts = redundant };
    }

    private static ExpertBalancingSpec? Balancing(JsonNode? node, ParallelSpec layout)
    {
        if (node is null) return null;
        if (node is not JsonObject balancing)
            throw new JobSpecException("balancing", "must be an object {\"replace_every\": N, \"replace_imbalance\": x, \"replace_window\": N, \"nodes\": N}");
        RejectUnknown(balancing, BalancingFields, "balancing.");
        var every = Integer(balancing, "replace_every", "balancing.replace_every", required: false, min: 0) ?? 0;
        var imbalance = balancing["replace_imbalance"] is { } i ? Number(i, "balancing.replace_imbalance") : 0;
        if (imbalance != 0 && !(imbalance > 1 && double.IsFinite(imbalance)))
            throw new JobSpecException("balancing.replace_imbalance", $"must be a ratio of max to mean rank load above 1 (got {imbalance})");
        if (every == 0 && imbalance == 0)
            throw new JobSpecException("balancing", "give balancing.replace_every (steps) or balancing.replace_imbalance (a max/mean rank load above 1)");
        var window = Integer(balancing, "replace_window", "balancing.replace_window", required: false, min: 1) ?? (every > 0 ? every : 10);
        var nodes = Integer(balancing, "nodes", "balancing.nodes", required: false, min: 1) ?? 1;
        if (layout.Ep < 2) throw new JobSpecException("balancing", "re-placing experts needs expert parallelism (parallel.ep > 1)");
        if (layout.Stages > 1) throw new JobSpecException("balancing", "re-placing experts is not supported with pipeline stages (parallel.pp > 1)");
        if (layout.Ep % nodes != 0) throw new JobSpecException("balancing.nodes", $"{layout.Ep} EP ranks cannot be spread evenly over {nodes} nodes");
        return new ExpertBalancingSpec(every, imbalance, window, nodes);
    }

    /// <summary>Refuses re-placement in a simulated job (<c>simulation</c>): its ranks model the loads without an expert map.</summary>
    private static void SimulatedExpertLimits(JobSpec spec)
    {
        if (spec.Simulation is null) return;
        const string Why = "simulated ranks model their expert loads without an expert map, so no expert could move; remove it or the simulation section";
        if (spec.Layout.RedundantExperts > 0) throw new JobSpecException("parallel.redundant_experts", "replicas are not simulated: " + Why);
        if (spec.Balancing is not null) throw new JobSpecException("balancing", "re-placing experts is not simulated: " + Why);
    }

    private static JsonObject BalancingJson(ExpertBalancingSpec balancing)
    {
        var json = new JsonObject();
        if (balancing.Every > 0) json["replace_every"] = balancing.Every;
        if (balancing.Imbalance > 0) json["replace_imbalance"] = balancing.Imbalance;
        json["replace_window"] = balancing.Window;
        json["nodes"] = balancing.Nodes;
        return json;
    }
}
