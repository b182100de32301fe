namespace Orchestrator.Kernels.Configuration;

/// <summary>
/// Parameter counts computed from a config alone (no tensors are allocated), so that the 671B
/// config can be checked on a laptop. "Activated" counts what one token touches: every dense
/// weight, the shared experts, top-k routed experts and the gate, and the output head; the input
/// embedding is a lookup, not a product, and is left out, as in the DeepSeek reports.
/// </summary>
public sealed record ParameterCount(long Total, long Activated, long Mtp, long Embedding, long Attention, long DenseFfn, long Experts)
{
    /// <summary>Counts for a model config; <see cref="Total"/> and <see cref="Activated"/> exclude the MTP modules.</summary>
    public static ParameterCount For(ModelConfig m)
    {
        long d = m.Dim;
        var attention = AttentionPerLayer(m);
        var norms = 2 * d;
        var denseFfn = 3 * d * m.InterDim;
        var expert = 3 * d * m.MoeInterDim;
        var gate = (long)m.RoutedExperts * d;
        var moeTotal = (m.RoutedExperts + (long)m.SharedExperts) * expert + gate;
        var moeActive = ((long)m.ActivatedExperts + m.SharedExperts) * expert + gate;
        var embedding = (long)m.VocabSize * d;
        var head = (long)m.VocabSize * d;

        var common = m.Layers * (attention + norms) + m.DenseLayers * denseFfn + d; // + final norm
        var total = common + m.MoeLayers * moeTotal + embedding + head;
        var activated = common + m.MoeLayers * moeActive + head;
        // One MTP module: two input norms, the 2d→d projection, one MoE block and its output norm;
        // the embedding and output head are shared with the main model.
        var mtpModule = 2 * d + 2 * d * d + attention + norms + moeTotal + d;
        return new ParameterCount(
            total, activated, m.MtpDepth * mtpModule, embedding,
            m.Layers * attention, m.DenseLayers * denseFfn,
            m.MoeLayers * ((m.RoutedExperts + (long)m.SharedExperts) * expert));
    }

    /// <summary>MLA projections and their norms for one layer.</summary>
    public static long AttentionPerLayer(ModelConfig m)
    {
        long d = m.Dim, h = m.Heads;
        var query = m.QueryLoraRank > 0
            ? d * m.QueryLoraRank + m.QueryLoraRank + (long)m.QueryLoraRank * h * m.QkHeadDim
            : d * h * m.QkHeadDim;
        var keyValue = d * (m.KvLoraRank + m.QkRopeHeadDim) + m.KvLoraRank + (long)m.KvLoraRank * h * (m.QkNopeHeadDim + m.VHeadDim);
        var output = h * m.VHeadDim * d;
        return query + keyValue + output;
    }
}
