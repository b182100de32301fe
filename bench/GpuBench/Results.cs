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
        _root[key] = value;
        Save();
    }

    public void Append(string key, JsonNode value)
    {
        if (_root[key] is not JsonArray array) _root[key] = array = [];
        array.Add(value);
        Save();
    }

    public static void Say(string line)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }

    private void Save() => File.WriteAllText(path, _root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
