using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.GpuBench;

/// <summary>Collects named results and writes them as one JSON file; prints each line as it comes.</summary>
internal sealed class Results(string path)
{
    private readonly JsonObject _root = new()
    {
        ["date_utc"] = DateTime.UtcNow.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
        ["machine"] = Environment.MachineName,
        ["cores"] = Environment.ProcessorCount,
    };

    public void Add(string key, JsonNode? value)
    {
        _root[key] = Finite(value);
        Save();
    }

    public void Append(string key, JsonNode value)
    {
        if (_root[key] is not JsonArray array) _root[key] = array = [];
        array.Add(Finite(value));
        Save();
    }

    /// <summary>
    /// JSON has no NaN or infinity: such a value (a layout that reads garbage gives one) is written as its
    /// name in a string, rather than failing the whole results file (it did on 2026-11-30, losing the run's
    /// later figures).
    /// </summary>
    private static JsonNode? Finite(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    var child = obj[key];
                    var finite = Finite(child);
                    if (!ReferenceEquals(finite, child)) obj[key] = finite;
                }

                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var child = array[i];
                    var finite = Finite(child);
                    if (!ReferenceEquals(finite, child)) array[i] = finite;
                }

                return array;
            case JsonValue value when value.TryGetValue<double>(out var d) && !double.IsFinite(d):
                return JsonValue.Create(d.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case JsonValue value when value.TryGetValue<float>(out var f) && !float.IsFinite(f):
                return JsonValue.Create(f.ToString(System.Globalization.CultureInfo.InvariantCulture));
            default:
                return node;
        }
    }

    public static void Say(string line)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }

    private void Save() => File.WriteAllText(path, _root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
