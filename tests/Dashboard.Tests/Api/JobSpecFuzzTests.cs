using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Orchestrator.Dashboard.Tests.Support;

namespace Orchestrator.Dashboard.Tests.Api;

/// <summary>
/// Property-based fuzzing of job specs through the real API: a valid spec with one field broken
/// (wrong type, out of range, unknown, impossible layout), or no spec at all. Every case must be a 400
/// naming a field (the broken one where it is known), never a 500, and nothing may be recorded.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class JobSpecFuzzTests(DashboardSilo silo)
{
    private const int CaseCount = 2000;

    /// <summary>A broken spec and the field the error must name (null: any field).</summary>
    public sealed record Case(string Body, string? Field)
    {
        /// <inheritdoc />
        public override string ToString() => $"{Field}: {Body}";
    }

    [Fact]
    public async Task BrokenSpecs_AreAlways400_NamingTheField_AndRecordNothing()
    {
        var before = (await silo.Store.ListJobsAsync()).Select(j => j.Id).ToList();
        using var client = silo.Client();
        var statuses = new Dictionary<HttpStatusCode, int>();
        Prop.ForAll(Arb.From(Cases()), c =>
        {
            using var response = client.PostAsync("/api/jobs", new StringContent(c.Body, Encoding.UTF8, "application/json")).GetAwaiter().GetResult();
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            var error = response.Content.ReadFromJsonAsync<JsonObject>().GetAwaiter().GetResult();
            var field = (string?)error?["field"];
            return (response.StatusCode == HttpStatusCode.BadRequest && field is not null && (c.Field is null || field == c.Field))
                .Label($"{(int)response.StatusCode} field={field} ({error?["error"]})");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(CaseCount));

        Assert.Equal(CaseCount, statuses.GetValueOrDefault(HttpStatusCode.BadRequest));
        Assert.Equal(before, (await silo.Store.ListJobsAsync()).Select(j => j.Id).ToList());
    }

    private static JsonObject Valid() => new()
    {
        ["id"] = "fuzz-" + Guid.NewGuid().ToString("N")[..8],
        ["config"] = "tiny",
        ["training"] = new JsonObject { ["threads"] = 1 },
        ["data"] = "/nonexistent/data",
        ["steps"] = 10,
        ["parallel"] = new JsonObject { ["ep"] = 1, ["dp"] = 1 },
        ["fp8"] = false,
        ["checkpoint"] = new JsonObject { ["every"] = 5, ["keep"] = 2 },
        ["max_seconds"] = 30,
    };

    private static Gen<string> Words => Gen.Elements("x", "", " ", "null", "ü", "\"", "{}", "tiny ", "TINY", "../etc", new string('a', 70));

    /// <summary>JSON values that no field accepts as itself (the mutations below pair them with fields).</summary>
    private static Gen<JsonNode?> Junk => Gen.OneOf(
        Words.Select(w => (JsonNode?)JsonValue.Create(w)),
        Gen.Choose(int.MinValue, 0).Select(n => (JsonNode?)JsonValue.Create(n)),
        Gen.Elements(0.5, -1.25, 1e300, -0.0).Select(d => (JsonNode?)JsonValue.Create(d)),
        Fresh(() => new JsonArray(1, 2)),
        Fresh(() => new JsonObject { ["a"] = 1 }));

    // A new node per case: a JSON node belongs to one parent.
    private static Gen<JsonNode?> Fresh(Func<JsonNode> make) => Gen.Constant(0).Select(_ => (JsonNode?)make());

    private static Gen<Case> Cases() => Gen.OneOf(
        // A number field given a non-number or a value below its minimum.
        from key in Gen.Elements("steps", "max_seconds")
        from bad in Gen.OneOf(Gen.Choose(-1000, 0).Select(n => (JsonNode?)JsonValue.Create(n)), Words.Select(w => (JsonNode?)JsonValue.Create(w)), Fresh(() => new JsonArray()))
        select Break(s => s[key] = bad, key),
        from key in Gen.Elements("ep", "dp")
        from bad in Gen.OneOf(Gen.Choose(-50, 0).Select(n => (JsonNode?)JsonValue.Create(n)), Words.Select(w => (JsonNode?)JsonValue.Create(w)), Fresh(() => JsonValue.Create(1.5)))
        select Break(s => s["parallel"]![key] = bad, "parallel." + key),
        // EP must divide the 64 routed experts.
        from ep in Gen.Choose(2, 200).Where(e => 64 % e != 0)
        select Break(s => s["parallel"]!["ep"] = ep, "parallel.ep"),
        from every in Gen.Choose(-100, -1)
        select Break(s => s["checkpoint"]!["every"] = every, "checkpoint.every"),
        from keep in Gen.Choose(-100, 0)
        select Break(s => s["checkpoint"]!["keep"] = keep, "checkpoint.keep"),
        from bad in Junk
        select Break(s => s["fp8"] = bad, "fp8"),
        // Unknown fields, at the top and inside the objects.
        from name in Gen.Elements("tp", "zz", "Steps", "model_config", "gpus", "pp_size")
        from place in Gen.Elements("", "parallel", "checkpoint")
        select Break(s => (place == "" ? s : s[place]!.AsObject())[name] = 1, place == "" ? name : $"{place}.{name}"),
        // Ids outside [a-z0-9-]{1,64}, unknown configs, missing or empty data.
        from id in Gen.Elements("UPPER", "with space", "under_score", "dots.dots", new string('a', 65), "é")
        select Break(s => s["id"] = id, "id"),
        from name in Gen.Elements("nope", "tiny2", "../tiny", "", "deepseek-v9")
        select Break(s => s["config"] = name, "config"),
        from kind in Gen.Elements(0, 1, 2)
        select Break(s => { if (kind == 0) s.Remove("data"); else s["data"] = kind == 1 ? JsonValue.Create("") : JsonValue.Create(3); }, "data"),
        // Training overrides and inline models with an impossible value.
        from key in Gen.Elements("lr", "seq_len", "micro_batch_size", "weight_decay", "warmup_steps")
        from value in Gen.Choose(-100, -1)
        select Break(s => s["training"]![key] = value, "training." + key),
        from training in Gen.OneOf(Words.Select(w => (JsonNode?)JsonValue.Create(w)), Fresh(() => new JsonArray()))
        select Break(s => s["training"] = training, "training"),
        // Not a spec at all.
        from text in Gen.Elements("", "{", "}", "null", "[]", "42", "\"spec\"", "{\"steps\": }", "<xml/>", "{,}")
        select new Case(text, null));

    private static Case Break(Action<JsonObject> mutate, string? field)
    {
        var spec = Valid();
        mutate(spec);
        return new Case(spec.ToJsonString(), field);
    }
}
