using System.Text;
using System.Text.Json;

namespace Orchestrator.Kernels.Configuration;

/// <summary>
/// Finds a key given twice in one JSON object. System.Text.Json can refuse duplicates
/// (<c>AllowDuplicateProperties = false</c>) but its error names neither the object nor the path, and
/// <c>JsonNode</c> answers with a dictionary's "same key has already been added"; users need the field.
/// </summary>
public static class DuplicateKeys
{
    /// <summary>What a refusal says after the path.</summary>
    public const string Reason = "duplicated key: a key may appear only once in an object";

    /// <summary>The first duplicated key as a path (<c>parallel.ep</c>, <c>layers[2].dim</c>), or null when every key is unique
    /// (or the text is not JSON: its own parser reports that).</summary>
    public static string? Find(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json),
            new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var scopes = new Stack<Scope>();
        var property = "";
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        scopes.Push(new Scope(ValuePath(scopes, property), new HashSet<string>(StringComparer.Ordinal)));
                        break;
                    case JsonTokenType.StartArray:
                        scopes.Push(new Scope(ValuePath(scopes, property), null));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        scopes.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        property = reader.GetString()!;
                        var scope = scopes.Peek();
                        if (!scope.Keys!.Add(property)) return Join(scope.Path, property);
                        break;
                    default:
                        _ = ValuePath(scopes, property);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return null;
    }

    /// <summary>The path of the value starting now (and, inside an array, the next index taken).</summary>
    private static string ValuePath(Stack<Scope> scopes, string property)
    {
        if (scopes.Count == 0) return "";
        var parent = scopes.Peek();
        return parent.Keys is null ? $"{parent.Path}[{parent.Index++}]" : Join(parent.Path, property);
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private sealed class Scope(string path, HashSet<string>? keys)
    {
        public string Path { get; } = path;

        /// <summary>The keys seen so far in an object; null for an array.</summary>
        public HashSet<string>? Keys { get; } = keys;

        public int Index { get; set; }
    }
}
