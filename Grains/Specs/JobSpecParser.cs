using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// Reads a job spec strictly: unknown fields, wrong types and impossible layouts are a
/// <see cref="JobSpecException"/> naming the field. The result has its model inline, so it reads the
/// same on every silo; <see cref="ToJson"/> writes that form, which this parser reads back unchanged.
/// </summary>
public static partial class JobSpecParser
{
    private static readonly HashSet<string> Fields =
        ["id", "kind", "config", "model", "training", "data", "steps", "parallel", "fp8", "checkpoint", "max_seconds", "resume_from", "recovery", "data_plane", "simulation", "alerts", "faults", "sft", "grpo", "distill", "balancing"];

    private static readonly HashSet<string> ParallelFields = ["ep", "dp", "pp", "ranks", "schedule", "virtual_stages", "stage_layers", "redundant_experts"];
    private static readonly HashSet<string> CheckpointFields = ["every", "keep", "keep_every", "memory_every", "memory_copies"];
    private static readonly HashSet<string> ResumeFields = ["job", "step"];

    [GeneratedRegex("^[a-z0-9-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex JobId();

    /// <summary>Parses and validates a spec.</summary>
    /// <param name="json">The spec.</param>
    /// <param name="resolveConfig">Maps a <c>"config"</c> name (e.g. <c>tiny</c>) to that config's JSON, or null if unknown.</param>
    /// <param name="baseDirectory">Relative data paths are resolved against it; null keeps them as written.</param>
    public static JobSpec Parse(string json, Func<string, string?>? resolveConfig = null, string? baseDirectory = null)
    {
        // Before the tree is built: JsonNode would refuse a duplicate with a dictionary's message naming no field.
        if (DuplicateKeys.Find(json) is { } duplicate) throw new JobSpecException(duplicate, DuplicateKeys.Reason);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new JobSpecException("(root)", "a job spec is a JSON object");
        }
        catch (JsonException e)
        {
            throw new JobSpecException("(root)", $"malformed JSON: {e.Message}");
        }

        RejectUnknown(root, Fields, "");
        var id = root["id"] is null ? NewId() : String(root, "id", "id");
        if (!JobId().IsMatch(id))
            throw new JobSpecException("id", $"'{id}' is not a job id: 1 to 64 characters of a-z, 0-9 and '-'");

        var kind = Kind(root["kind"]);
        var runConfig = ModelAndTraining(root, resolveConfig);
        var data = String(root, "data", "data");
        if (baseDirectory is not null && !Path.IsPathRooted(data)) data = Path.GetFullPath(Path.Combine(baseDirectory, data));
        var steps = Integer(root, "steps", "steps", required: true, min: 1L) ?? 0;
        var fp8 = root["fp8"] is { } f ? Boolean(f, "fp8") : false;
        var layout = Layout(root["parallel"], runConfig);
        var checkpoint = Checkpoint(root["checkpoint"]);
        double? maxSeconds = null;
        if (root["max_seconds"] is { } limit)
        {
            maxSeconds = Number(limit, "max_seconds");
            if (!(maxSeconds > 0)) throw new JobSpecException("max_seconds", $"must be greater than 0 (got {maxSeconds})");
        }

        var resumeFrom = ResumeFrom(root["resume_from"]);
        if (resumeFrom is not null && resumeFrom.Step >= steps)
            throw new JobSpecException("resume_from.step", $"the checkpoint is at step {resumeFrom.Step}, but the job ends at step {steps} (\"steps\")");
        if (fp8) runConfig = runConfig with { Model = runConfig.Model! with { GemmPrecision = "fp8" } };
        var run = new RunSpec(ConfigLoader.ToJson(runConfig));
        // The one parse of the canonical text: it fills this process's cache with exactly what any other
        // process reading the same text gets, so the submitting silo's ranks and planner use the same bits.
        _ = run.Config();
        var spec = new JobSpec(id, run, data, steps, layout, fp8, checkpoint, maxSeconds, resumeFrom)
        {
            Recovery = Recovery(root["recovery"]),
            DataPlane = DataPlane(root["data_plane"]),
            Kind = kind,
            Simulation = Simulation(root["simulation"]),
            Alerts = Alerts(root["alerts"]),
            Faults = Faults(root["faults"], steps, layout),
            Balancing = Balancing(root["balancing"], layout),
        };
        spec = KindSections(spec, root);
        if (layout.Stages > 1) PipelineLimits(spec);
        MemoryLimits(spec);
        SimulatedExpertLimits(spec);
        return spec;
    }

    /// <summary>Writes a spec in the form <see cref="Parse"/> reads, model and training inline.</summary>
    public static string ToJson(JobSpec spec)
    {
        var config = JsonNode.Parse(spec.Run.Json)!.AsObject();
        var root = new JsonObject
        {
            ["id"] = spec.Id,
            ["model"] = config["model"]?.DeepClone(),
            ["training"] = config["training"]?.DeepClone(),
            ["data"] = spec.DataDirectory,
            ["steps"] = spec.Steps,
            ["parallel"] = ParallelJson(spec.Layout),
            ["fp8"] = spec.Fp8,
            ["checkpoint"] = CheckpointJson(spec.Checkpoint),
        };
        if (spec.MaxSeconds is { } seconds) root["max_seconds"] = seconds;
        if (spec.ResumeFrom is { } from) root["resume_from"] = new JsonObject { ["job"] = from.JobId, ["step"] = from.Step };
        root["recovery"] = RecoveryJson(spec.Recovery);
        root["data_plane"] = DataPlaneName(spec.DataPlane);
        // Written only when not the default, so new pretrain specs are stored (and shown by the API) exactly as
        // before "kind" existed, and stored specs without it read back equal.
        if (spec.Kind != JobKind.Pretrain) root["kind"] = KindName(spec.Kind);
        if (spec.Simulation is { } simulation) root["simulation"] = SimulationJson(simulation);
        // Written only when set or not the default, so stored specs from before alerts read back byte for byte.
        if (spec.Alerts != AlertPolicy.Default) root["alerts"] = AlertsJson(spec.Alerts);
        if (spec.Faults is { } faults) root["faults"] = FaultsJson(faults);
        KindSectionsJson(spec, root);
        if (spec.Balancing is { } balancing) root["balancing"] = BalancingJson(balancing);
        return root.ToJsonString();
    }

    private static JsonObject ParallelJson(ParallelSpec layout)
    {
        var parallel = new JsonObject { ["ep"] = layout.Ep, ["dp"] = layout.Dp };
        if (layout.RedundantExperts > 0) parallel["redundant_experts"] = layout.RedundantExperts;
        if (layout.Stages == 1) return parallel; // written as before pipeline stages existed
        parallel["pp"] = layout.Stages;
        parallel["schedule"] = layout.Schedule;
        if (layout.StageLayerCounts() is { } layers) parallel["stage_layers"] = new JsonArray([.. layers.Select(l => (JsonNode)l)]);
        return parallel;
    }

    private static RunConfig ModelAndTraining(JsonObject root, Func<string, string?>? resolveConfig)
    {
        var hasConfig = root["config"] is not null;
        var hasModel = root["model"] is not null;
        if (hasConfig == hasModel)
            throw new JobSpecException("model", "give exactly one of \"model\" (an inline model config) or \"config\" (a config name such as \"tiny\")");

        JsonObject model;
        JsonObject training;
        if (hasConfig)
        {
            var name = String(root, "config", "config");
            var text = resolveConfig?.Invoke(name) ?? throw new JobSpecException("config", $"no config named '{name}' (see deploy/configs)");
            var named = ParseObject(text, "config");
            var wrapped = named.ContainsKey("model") || named.ContainsKey("training");
            model = (wrapped ? named["model"] : named) as JsonObject ?? throw new JobSpecException("config", $"config '{name}' has no model section");
            training = (wrapped ? named["training"] as JsonObject : null) ?? [];
        }
        else
        {
            model = root["model"] as JsonObject ?? throw new JobSpecException("model", "must be an object");
            training = [];
        }

        if (root["training"] is { } overrides)
        {
            if (overrides is not JsonObject set) throw new JobSpecException("training", "must be an object of training overrides");
            foreach (var (key, value) in set) training[key] = value?.DeepClone();
        }

        var combined = new JsonObject { ["model"] = model.DeepClone(), ["training"] = training.DeepClone() }.ToJsonString();
        try
        {
            return ConfigLoader.Parse(combined, "job spec");
        }
        catch (ConfigException e)
        {
            throw new JobSpecException(string.Join("; ", e.Problems));
        }
    }

    private static ParallelSpec Layout(JsonNode? node, RunConfig run)
    {
        var model = run.Model!;
        if (node is null) return new ParallelSpec(1, 1);
        if (node is not JsonObject parallel) throw new JobSpecException("parallel", "must be an object {\"ep\": N, \"dp\": N}");
        RejectUnknown(parallel, ParallelFields, "parallel.");
        var ep = Integer(parallel, "ep", "parallel.ep", required: false, min: 1) ?? 1;
        var dp = Integer(parallel, "dp", "parallel.dp", required: false, min: 1) ?? 1;
        var pp = Integer(parallel, "pp", "parallel.pp", required: false, min: 1) ?? 1;
        if (Integer(parallel, "ranks", "parallel.ranks", required: false, min: 1) is { } ranks && ranks != (long)pp * ep * dp)
            throw new JobSpecException("parallel.ranks", pp == 1
                ? $"{ranks} ranks cannot hold ep × dp = {ep} × {dp} = {(long)ep * dp}"
                : $"{ranks} ranks cannot hold pp × ep × dp = {pp} × {ep} × {dp} = {(long)pp * ep * dp}");
        if (model.RoutedExperts > 0 && model.RoutedExperts % ep != 0)
            throw new JobSpecException("parallel.ep", $"the model's {model.RoutedExperts} routed experts (model.n_routed_experts) cannot be split evenly over {ep} EP ranks");
        if (model.RoutedExperts == 0 && ep > 1)
            throw new JobSpecException("parallel.ep", $"a dense model (no routed experts) has nothing to split over {ep} EP ranks");
        return RedundantExperts(parallel, Pipeline(parallel, run, ep, dp), model);
    }

    private static CheckpointPolicy Checkpoint(JsonNode? node)
    {
        if (node is null) return new CheckpointPolicy(0, 1);
        if (node is not JsonObject checkpoint) throw new JobSpecException("checkpoint", "must be an object {\"every\": N, \"keep\": N}");
        RejectUnknown(checkpoint, CheckpointFields, "checkpoint.");
        var every = Integer(checkpoint, "every", "checkpoint.every", required: false, min: 0) ?? 0;
        var keep = Integer(checkpoint, "keep", "checkpoint.keep", required: false, min: 1) ?? 2;
        var keepEvery = Integer(checkpoint, "keep_every", "checkpoint.keep_every", required: false, min: 0) ?? 0;
        var (memoryEvery, memoryCopies) = Memory(checkpoint);
        return new CheckpointPolicy(every, keep, keepEvery, memoryEvery, memoryCopies);
    }

    /// <summary>A committed checkpoint named as {"job": id, "step": N} at <paramref name="field"/> (resume_from, sft.from_checkpoint, …).</summary>
    private static CheckpointSource? ResumeFrom(JsonNode? node, string field = "resume_from")
    {
        if (node is null) return null;
        if (node is not JsonObject from) throw new JobSpecException(field, "must be an object {\"job\": \"id\", \"step\": N}");
        RejectUnknown(from, ResumeFields, field + ".");
        var job = String(from, "job", field + ".job");
        if (!JobId().IsMatch(job))
            throw new JobSpecException(field + ".job", $"'{job}' is not a job id: 1 to 64 characters of a-z, 0-9 and '-'");
        var step = Integer(from, "step", field + ".step", required: true, min: 1L) ?? 0;
        return new CheckpointSource(job, step);
    }

    private static void RejectUnknown(JsonObject node, HashSet<string> known, string prefix)
    {
        foreach (var (key, _) in node)
        {
            if (!known.Contains(key))
                throw new JobSpecException(prefix + key, $"unknown field (known: {string.Join(", ", known.Order(StringComparer.Ordinal))})");
        }
    }

    private static JsonObject ParseObject(string text, string field)
    {
        if (DuplicateKeys.Find(text) is { } duplicate)
            throw new JobSpecException(field, $"the named config gives {duplicate} twice ({DuplicateKeys.Reason})");
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new JobSpecException(field, "the named config is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new JobSpecException(field, $"the named config is malformed JSON: {e.Message}");
        }
    }

    private static string String(JsonObject node, string key, string field)
    {
        if (node[key] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0) return text;
        throw new JobSpecException(field, node[key] is null ? "is required" : "must be a non-empty string");
    }

    /// <summary>
    /// A whole-number field of type <typeparamref name="T"/> (the type the spec keeps it in): a value past that
    /// type's range is refused as out of range rather than wrapped or clamped.
    /// </summary>
    private static T? Integer<T>(JsonObject node, string key, string field, bool required, T min)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        if (node[key] is not { } value)
            return required ? throw new JobSpecException(field, "is required") : null;
        var text = value.ToJsonString();
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !WholeNumbers.IsLiteral(text))
            throw new JobSpecException(field, $"must be a whole number (got {text})");
        if (!T.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            throw new JobSpecException(field, WholeNumbers.OutOfRange(text, T.MinValue, T.MaxValue));
        if (number < min)
            throw new JobSpecException(field, string.Create(CultureInfo.InvariantCulture, $"must be at least {min} (got {number})"));
        return number;
    }

    private static double Number(JsonNode node, string field) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var number)
            ? number
            : throw new JobSpecException(field, $"must be a number (got {node.ToJsonString()})");

    private static bool Boolean(JsonNode node, string field) =>
        node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
            ? v.GetValue<bool>()
            : throw new JobSpecException(field, $"must be true or false (got {node.ToJsonString()})");

    private static string NewId() => "job-" + Guid.NewGuid().ToString("N")[..12];
}
