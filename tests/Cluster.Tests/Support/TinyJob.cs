using System.Text.Json.Nodes;
using Orchestrator.Kernels.Data;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>A very small model and dataset, so that a job of a few steps runs in seconds on one thread.</summary>
public static class TinyJob
{
    public static JsonObject Model() => new()
    {
        ["vocab_size"] = 257, ["dim"] = 32, ["inter_dim"] = 64, ["moe_inter_dim"] = 16,
        ["n_layers"] = 2, ["n_dense_layers"] = 1, ["n_heads"] = 2,
        ["n_routed_experts"] = 8, ["n_shared_experts"] = 1, ["n_activated_experts"] = 2,
        ["n_expert_groups"] = 2, ["n_limited_groups"] = 1, ["score_func"] = "sigmoid", ["route_scale"] = 1.0,
        ["q_lora_rank"] = 16, ["kv_lora_rank"] = 16, ["qk_nope_head_dim"] = 16, ["qk_rope_head_dim"] = 8,
        ["v_head_dim"] = 16, ["max_seq_len"] = 64, ["mtp_depth"] = 0,
    };

    public static JsonObject Training() => new()
    {
        ["seq_len"] = 32, ["micro_batch_size"] = 2, ["warmup_steps"] = 1, ["threads"] = 1,
    };

    /// <summary>A spec for <paramref name="steps"/> steps on the data in <paramref name="data"/>.</summary>
    public static JsonObject Spec(string id, string data, long steps) => new()
    {
        ["id"] = id,
        ["model"] = Model(),
        ["training"] = Training(),
        ["data"] = data,
        ["steps"] = steps,
        ["parallel"] = new JsonObject { ["ep"] = 1, ["dp"] = 1 },
        ["checkpoint"] = new JsonObject { ["every"] = 2, ["keep"] = 1 },
    };

    /// <summary>Writes a small byte-token dataset once per folder.</summary>
    public static string Data(string root)
    {
        var data = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(data, DatasetIndex.FileName))) return data;
        var files = DemoCorpus.Write(Path.Combine(root, "corpus"), 60_000, seed: 5);
        new TokenShardWriter(TokenizerCatalog.Create(ByteTokenizer.CatalogName)).Write(files, data, overwrite: true);
        return data;
    }
}
