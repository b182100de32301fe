namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// Where each layer's physical expert slots go (issue 14's re-placement policy), from a window of measured loads, as
/// DeepSeek's expert-parallel load balancer decides it: hierarchically when the expert groups divide over the nodes —
/// groups packed onto nodes evenly by load, then within each node the heaviest experts replicated into the extra
/// slots (always the one with the highest load per replica), then the node's physical experts packed onto its ranks
/// evenly — and globally (one group, one node) otherwise. Pure: the same loads give the same placement.
/// </summary>
public static class ExpertRebalancer
{
    /// <summary>Places <paramref name="physical"/> slots per layer over <paramref name="ranks"/> ranks on <paramref name="nodes"/> nodes.</summary>
    /// <param name="loads">Per MoE layer, each logical expert's load over the window.</param>
    /// <param name="physical">Physical expert slots per layer (logical experts + redundant ones), a multiple of <paramref name="ranks"/>.</param>
    /// <param name="groups">Expert groups (model.n_expert_groups).</param>
    /// <param name="nodes">Nodes the ranks are on.</param>
    /// <param name="ranks">EP ranks, a multiple of <paramref name="nodes"/>.</param>
    /// <exception cref="ArgumentException">The numbers do not divide as the placement needs; the message says which.</exception>
    public static ExpertReplacement Rebalance(IReadOnlyList<double[]> loads, int physical, int groups, int nodes, int ranks)
    {
        ArgumentNullException.ThrowIfNull(loads);
        if (loads.Count == 0) throw new ArgumentException("no MoE layer's loads given", nameof(loads));
        var experts = loads[0].Length;
        if (experts == 0 || loads.Any(l => l.Length != experts)) throw new ArgumentException("every layer needs the same, non-zero number of experts' loads", nameof(loads));
        if (loads.Any(l => l.Any(v => !double.IsFinite(v) || v < 0))) throw new ArgumentException("loads must be finite and not negative", nameof(loads));
        if (ranks < 1 || nodes < 1 || ranks % nodes != 0) throw new ArgumentException($"{ranks} ranks cannot be spread evenly over {nodes} nodes", nameof(ranks));
        if (physical < experts) throw new ArgumentException($"{physical} physical slots cannot hold {experts} logical experts", nameof(physical));
        if (physical % ranks != 0) throw new ArgumentException($"{physical} physical slots do not divide evenly over {ranks} ranks", nameof(physical));
        if (groups < 1 || experts % groups != 0) throw new ArgumentException($"{experts} experts do not divide into {groups} groups", nameof(groups));
        // Hierarchical only when the groups divide over the nodes (and each node's share of slots over its ranks); else global.
        var hierarchical = groups % nodes == 0 && physical % nodes == 0 && experts % nodes == 0;
        var layers = loads.Select(l => hierarchical ? Layer(l, physical, groups, nodes, ranks) : Layer(l, physical, 1, 1, ranks)).ToArray();
        return new ExpertReplacement([.. layers.Select(l => l.Logical)], [.. layers.Select(l => l.Replica)], [.. layers.Select(l => l.Count)], hierarchical);
    }

    private static (int[] Logical, int[] Replica, int[] Count) Layer(double[] load, int physical, int groups, int nodes, int ranks)
    {
        var experts = load.Length;
        var groupSize = experts / groups;
        var groupsPerNode = groups / nodes;
        var perRank = physical / ranks;
        var expertsPerNode = experts / nodes;
        var slotsPerNode = physical / nodes;

        // 1. Groups onto nodes; logical experts renumbered node by node ("node-local order").
        var groupLoad = Enumerable.Range(0, groups).Select(g => load.Skip(g * groupSize).Take(groupSize).Sum()).ToArray();
        var (groupNode, groupRank) = Pack(groupLoad, nodes);
        var toLocal = new int[experts];
        for (var e = 0; e < experts; e++)
        {
            var g = e / groupSize;
            toLocal[e] = (groupNode[g] * groupsPerNode + groupRank[g]) * groupSize + e % groupSize;
        }

        var fromLocal = Inverse(toLocal);
        var logical = new int[physical];
        var replica = new int[physical];
        var count = new int[experts];
        for (var n = 0; n < nodes; n++)
        {
            // 2. Within the node: replicate its heaviest experts into its extra slots.
            var nodeLoad = Enumerable.Range(0, expertsPerNode).Select(k => load[fromLocal[n * expertsPerNode + k]]).ToArray();
            var (slotExpert, slotReplica, copies) = Replicate(nodeLoad, slotsPerNode);
            // 3. Its physical experts onto its ranks, evenly by load per replica.
            var slotLoad = slotExpert.Select(k => nodeLoad[k] / copies[k]).ToArray();
            var (slotRankIndex, slotRankPlace) = Pack(slotLoad, ranks / nodes);
            for (var p = 0; p < slotsPerNode; p++)
            {
                var at = n * slotsPerNode + slotRankIndex[p] * perRank + slotRankPlace[p];
                logical[at] = fromLocal[n * expertsPerNode + slotExpert[p]];
                replica[at] = slotReplica[p];
            }

            for (var k = 0; k < expertsPerNode; k++) count[fromLocal[n * expertsPerNode + k]] = copies[k];
        }

        return (logical, replica, count);
    }

    /// <summary>
    /// Packs items into <paramref name="packs"/> packs of equal count, balancing their weight: heaviest first, each into
    /// the lightest pack that still has room (the lowest-numbered on a tie). Returns each item's pack and place in it.
    /// </summary>
    private static (int[] Pack, int[] Place) Pack(double[] weight, int packs)
    {
        var perPack = weight.Length / packs;
        var pack = new int[weight.Length];
        var place = new int[weight.Length];
        if (perPack == 1)
        {
            for (var i = 0; i < weight.Length; i++) pack[i] = i;
            return (pack, place);
        }

        var packWeight = new double[packs];
        var packItems = new int[packs];
        foreach (var item in Enumerable.Range(0, weight.Length).OrderByDescending(i => weight[i]).ThenBy(i => i))
        {
            var best = -1;
            for (var p = 0; p < packs; p++)
                if (packItems[p] < perPack && (best < 0 || packWeight[p] < packWeight[best])) best = p;
            pack[item] = best;
            place[item] = packItems[best]++;
            packWeight[best] += weight[item];
        }

        return (pack, place);
    }

    /// <summary>Every expert once, then each extra slot to the expert with the highest load per replica (the lowest-numbered on a tie).</summary>
    private static (int[] Expert, int[] Replica, int[] Copies) Replicate(double[] load, int slots)
    {
        var expert = new int[slots];
        var replica = new int[slots];
        var copies = Enumerable.Repeat(1, load.Length).ToArray();
        for (var s = 0; s < load.Length; s++) expert[s] = s;
        for (var s = load.Length; s < slots; s++)
        {
            var best = 0;
            for (var k = 1; k < load.Length; k++)
                if (load[k] / copies[k] > load[best] / copies[best]) best = k;
            expert[s] = best;
            replica[s] = copies[best]++;
        }

        return (expert, replica, copies);
    }

    private static int[] Inverse(int[] permutation)
    {
        var inverse = new int[permutation.Length];
        for (var i = 0; i < permutation.Length; i++) inverse[permutation[i]] = i;
        return inverse;
    }
}
