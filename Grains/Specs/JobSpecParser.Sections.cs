using System.Text.Json.Nodes;
using Orchestrator.Kernels.Data;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The kinds' own sections: <c>sft {from_checkpoint, tokenizer}</c>, <c>grpo {from_checkpoint, reference, group_size,
/// kl_coef, clip, passes, tokenizer, max_new_tokens, temperature}</c>, <c>distill {teacher, temperature, logit_weight, tokenizer, max_tokens,
/// sample_temperature, top_p}</c>. A kind's
/// section is required with it and refused with any other kind; the kind's data file is the spec's <c>data</c>.
/// </summary>
public static partial class JobSpecParser
{
    private static readonly HashSet<string> SftFields = ["from_checkpoint", "tokenizer"];
    private static readonly HashSet<string> GrpoFields = ["from_checkpoint", "reference", "group_size", "kl_coef", "clip", "passes", "tokenizer", "max_new_tokens", "temperature"];
    private static readonly HashSet<string> DistillFields = ["teacher", "temperature", "logit_weight", "tokenizer", "max_tokens", "sample_temperature", "top_p"];

    private static JobSpec KindSections(JobSpec spec, JsonObject root)
    {
        foreach (var (section, kind) in new[] { ("sft", JobKind.Sft), ("grpo", JobKind.Grpo), ("distill", JobKind.Distill) })
        {
            if (root[section] is not null && spec.Kind != kind)
                throw new JobSpecException(section, $"only for kind \"{section}\" (this job's kind is \"{KindName(spec.Kind)}\")");
            if (root[section] is null && spec.Kind == kind)
                throw new JobSpecException(section, $"is required for kind \"{section}\"");
        }
        if (spec.Kind != JobKind.Pretrain && spec.Layout.Stages > 1)
            throw new JobSpecException("parallel.pp", $"{KindName(spec.Kind)} jobs run without pipeline stages (pp = 1)");
        return spec.Kind switch
        {
            JobKind.Sft => spec with { Sft = Sft(Section(root, "sft", SftFields)) },
            JobKind.Grpo => spec with { Grpo = Grpo(Section(root, "grpo", GrpoFields)) },
            JobKind.Distill => spec with { Distill = Distill(Section(root, "distill", DistillFields)) },
            _ => spec,
        };
    }

    private static void KindSectionsJson(JobSpec spec, JsonObject root)
    {
        if (spec.Sft is { } sft)
            root["sft"] = new JsonObject { ["from_checkpoint"] = SourceJson(sft.FromCheckpoint), ["tokenizer"] = sft.Tokenizer };
        if (spec.Grpo is { } grpo)
        {
            root["grpo"] = new JsonObject
            {
                ["from_checkpoint"] = SourceJson(grpo.FromCheckpoint), ["reference"] = SourceJson(grpo.Reference), ["group_size"] = grpo.GroupSize,
                ["kl_coef"] = grpo.KlCoefficient, ["clip"] = grpo.Clip, ["passes"] = grpo.Passes, ["tokenizer"] = grpo.Tokenizer,
                ["max_new_tokens"] = grpo.MaxNewTokens, ["temperature"] = grpo.Temperature,
            };
        }
        if (spec.Distill is { } distill)
        {
            root["distill"] = new JsonObject
            {
                ["teacher"] = SourceJson(distill.Teacher), ["temperature"] = distill.Temperature, ["logit_weight"] = distill.LogitWeight,
                ["tokenizer"] = distill.Tokenizer, ["max_tokens"] = distill.MaxTokens, ["sample_temperature"] = distill.SampleTemperature,
                ["top_p"] = distill.TopP,
            };
        }
    }

    private static SftSpec Sft(JsonObject sft) =>
        new(Required(sft["from_checkpoint"], "sft.from_checkpoint"), Tokenizer(sft, "sft"));

    private static GrpoSpec Grpo(JsonObject grpo)
    {
        var from = Required(grpo["from_checkpoint"], "grpo.from_checkpoint");
        var clip = grpo["clip"] is { } c ? Number(c, "grpo.clip") : 0.2;
        if (!(clip > 0 && clip < 1)) throw new JobSpecException("grpo.clip", $"must be between 0 and 1, exclusive (got {clip})");
        var kl = grpo["kl_coef"] is { } k ? Number(k, "grpo.kl_coef") : 0.04;
        if (!(kl >= 0) || double.IsInfinity(kl)) throw new JobSpecException("grpo.kl_coef", $"must be a finite number, at least 0 (got {kl})");
        var temperature = grpo["temperature"] is { } t ? Number(t, "grpo.temperature") : 1.0;
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new JobSpecException("grpo.temperature", $"rollouts are sampled: must be a finite number greater than 0 (got {temperature})");
        return new GrpoSpec(from, ResumeFrom(grpo["reference"], "grpo.reference") ?? from,
            Integer(grpo, "group_size", "grpo.group_size", required: false, min: 2) ?? 8, kl, clip,
            Integer(grpo, "passes", "grpo.passes", required: false, min: 1) ?? 1, Tokenizer(grpo, "grpo"))
        {
            MaxNewTokens = Integer(grpo, "max_new_tokens", "grpo.max_new_tokens", required: false, min: 1) ?? 64,
            Temperature = temperature,
        };
    }

    private static DistillSpec Distill(JsonObject distill)
    {
        var temperature = distill["temperature"] is { } t ? Number(t, "distill.temperature") : 1.0;
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new JobSpecException("distill.temperature", $"must be a finite number greater than 0 (got {temperature})");
        var weight = distill["logit_weight"] is { } w ? Number(w, "distill.logit_weight") : 0.0;
        if (!(weight >= 0) || double.IsInfinity(weight))
            throw new JobSpecException("distill.logit_weight", $"must be a finite number, at least 0 (got {weight})");
        var sample = distill["sample_temperature"] is { } st ? Number(st, "distill.sample_temperature") : 0.0;
        if (!(sample >= 0) || double.IsInfinity(sample))
            throw new JobSpecException("distill.sample_temperature", $"must be 0 (greedy) or a finite positive number (got {sample})");
        var topP = distill["top_p"] is { } p ? Number(p, "distill.top_p") : 1.0;
        if (!(topP > 0 && topP <= 1)) throw new JobSpecException("distill.top_p", $"must be in (0, 1] (got {topP})");
        return new DistillSpec(Required(distill["teacher"], "distill.teacher"), temperature, weight, Tokenizer(distill, "distill"))
        {
            MaxTokens = Integer(distill, "max_tokens", "distill.max_tokens", required: false, min: 1) ?? 64,
            SampleTemperature = sample,
            TopP = topP,
        };
    }

    private static JsonObject Section(JsonObject root, string name, HashSet<string> fields)
    {
        if (root[name] is not JsonObject section) throw new JobSpecException(name, "must be an object");
        RejectUnknown(section, fields, name + ".");
        return section;
    }

    private static CheckpointSource Required(JsonNode? node, string field) =>
        ResumeFrom(node, field) ?? throw new JobSpecException(field, "is required: the committed checkpoint {\"job\": \"id\", \"step\": N} to start from");

    private static string Tokenizer(JsonObject section, string name)
    {
        if (section["tokenizer"] is null) return ByteTokenizer.CatalogName;
        var tokenizer = String(section, "tokenizer", name + ".tokenizer");
        if (!TokenizerCatalog.Names.Contains(tokenizer, StringComparer.Ordinal))
            throw new JobSpecException(name + ".tokenizer", $"'{tokenizer}' is not a tokenizer: {string.Join(", ", TokenizerCatalog.Names)}");
        return tokenizer;
    }

    private static JsonObject SourceJson(CheckpointSource source) => new() { ["job"] = source.JobId, ["step"] = source.Step };
}
