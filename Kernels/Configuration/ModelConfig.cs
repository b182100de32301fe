using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Configuration;

/// <summary>
/// The shape of a DeepSeek-V3-style model. Field names follow DeepSeek's own config files so that
/// the published 671B config parses as it is.
/// </summary>
public sealed record ModelConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("dim")] public int Dim { get; init; }
    /// <summary>Hidden size of the dense FFN of the first <see cref="DenseLayers"/> layers.</summary>
    [JsonPropertyName("inter_dim")] public int InterDim { get; init; }
    /// <summary>Hidden size of one routed or shared expert.</summary>
    [JsonPropertyName("moe_inter_dim")] public int MoeInterDim { get; init; }
    [JsonPropertyName("n_layers")] public int Layers { get; init; }
    [JsonPropertyName("n_dense_layers")] public int DenseLayers { get; init; }
    [JsonPropertyName("n_heads")] public int Heads { get; init; }

    [JsonPropertyName("n_routed_experts")] public int RoutedExperts { get; init; }
    [JsonPropertyName("n_shared_experts")] public int SharedExperts { get; init; }
    /// <summary>Routed experts chosen per token (top-k).</summary>
    [JsonPropertyName("n_activated_experts")] public int ActivatedExperts { get; init; }
    [JsonPropertyName("n_expert_groups")] public int ExpertGroups { get; init; } = 1;
    /// <summary>Groups (nodes) a token may draw experts from.</summary>
    [JsonPropertyName("n_limited_groups")] public int LimitedGroups { get; init; } = 1;
    [JsonPropertyName("score_func")] public string ScoreFunction { get; init; } = "sigmoid";
    [JsonPropertyName("route_scale")] public double RouteScale { get; init; } = 1.0;

    /// <summary>Query compression rank; 0 means no compression (V2-Lite).</summary>
    [JsonPropertyName("q_lora_rank")] public int QueryLoraRank { get; init; }
    [JsonPropertyName("kv_lora_rank")] public int KvLoraRank { get; init; }
    [JsonPropertyName("qk_nope_head_dim")] public int QkNopeHeadDim { get; init; }
    [JsonPropertyName("qk_rope_head_dim")] public int QkRopeHeadDim { get; init; }
    [JsonPropertyName("v_head_dim")] public int VHeadDim { get; init; }
    [JsonPropertyName("max_seq_len")] public int MaxSequenceLength { get; init; } = 4096;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    [JsonPropertyName("norm_eps")] public double NormEps { get; init; } = 1e-6;

    /// <summary>Multi-token-prediction depth D; 0 disables MTP.</summary>
    [JsonPropertyName("mtp_depth")] public int MtpDepth { get; init; }
    /// <summary>λ: weight of the averaged MTP loss.</summary>
    [JsonPropertyName("mtp_loss_weight")] public double MtpLossWeight { get; init; } = 0.3;
    /// <summary>α: weight of the sequence-wise balance loss.</summary>
    [JsonPropertyName("balance_loss_alpha")] public double BalanceLossAlpha { get; init; } = 1e-4;

    /// <summary>Precision of the GEMM inputs of every projection: "float32", "bfloat16" or "fp8".</summary>
    [JsonPropertyName("dtype")] public string GemmPrecision { get; init; } = "float32";
    /// <summary>
    /// Routed experts as one padded batched GEMM per projection ("on"), as a loop over experts ("off"),
    /// or "auto" (also when absent, null): grouped for CUDA tensors, the loop on the CPU (whose numerics
    /// stay as they were). Written only when set, so configs (and the config a checkpoint records) of
    /// runs that never set it read exactly as before.
    /// </summary>
    [JsonPropertyName("grouped_experts"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? GroupedExperts { get; init; }
    /// <summary>Scale used to initialise weights (normal, std).</summary>
    [JsonPropertyName("init_std")] public double InitStd { get; init; } = 0.02;

    [JsonIgnore] public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;
    [JsonIgnore] public int MoeLayers => Layers - DenseLayers;
}
