using System.Numerics;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>
/// Every whole-number field of a job spec, with the range of the type it is kept in: the spec's own fields
/// listed here, the model's and training's found by reflection over Kernels' config records (so a field added
/// there is covered without touching this list).
/// </summary>
public static class SpecIntegers
{
    /// <summary>A field path (<c>parallel.ep</c>) and its type's range.</summary>
    public sealed record Field(string Path, BigInteger Min, BigInteger Max);

    private static readonly (string Path, Type Type)[] SpecFields =
    [
        ("steps", typeof(long)), ("parallel.ep", typeof(int)), ("parallel.dp", typeof(int)), ("parallel.pp", typeof(int)),
        ("parallel.ranks", typeof(int)), ("checkpoint.every", typeof(int)), ("checkpoint.keep", typeof(int)),
        ("checkpoint.keep_every", typeof(int)), ("resume_from.step", typeof(long)), ("recovery.max_attempts", typeof(int)),
    ];

    /// <summary>Every field.</summary>
    public static IReadOnlyList<Field> All() =>
    [
        .. SpecFields.Select(f => Of(f.Path, f.Type)),
        .. Integers(typeof(ModelConfig), "model"),
        .. Integers(typeof(TrainingConfig), "training"),
    ];

    /// <summary>Every field paired with a value one past each end of its type's range.</summary>
    public static IEnumerable<(string Path, string Value)> PastTheirRange() =>
        All().SelectMany(f => new[] { (f.Path, (f.Max + 1).ToString()), (f.Path, (f.Min - 1).ToString()) });

    /// <summary>A valid spec (<see cref="TinyJob.Spec"/>, with a resume point and a recovery policy so every field exists) whose
    /// <paramref name="path"/> is set to the raw number <paramref name="value"/>.</summary>
    public static string SpecWith(string id, string data, string path, string value)
    {
        var spec = TinyJob.Spec(id, data, 5);
        spec["resume_from"] = new JsonObject { ["job"] = "earlier", ["step"] = 2 };
        spec["recovery"] = new JsonObject { ["max_attempts"] = 3 };
        var parts = path.Split('.');
        var parent = parts.Length == 1 ? spec : spec[parts[0]]!.AsObject();
        parent[parts[^1]] = JsonNode.Parse(value);
        return spec.ToJsonString();
    }

    private static IEnumerable<Field> Integers(Type record, string section) =>
        from property in record.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        let name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
        where name is not null && IsInteger(property.PropertyType)
        select Of($"{section}.{name}", property.PropertyType);

    private static bool IsInteger(Type type) => type == typeof(int) || type == typeof(long) || type == typeof(ulong);

    private static Field Of(string path, Type type) => type == typeof(int) ? new Field(path, int.MinValue, int.MaxValue)
        : type == typeof(long) ? new Field(path, long.MinValue, long.MaxValue)
        : type == typeof(ulong) ? new Field(path, ulong.MinValue, ulong.MaxValue)
        : throw new ArgumentException($"{path}: {type} is not a whole-number type", nameof(type));
}
