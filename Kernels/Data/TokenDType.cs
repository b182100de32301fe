using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Data;

/// <summary>How one token is stored in a shard file (always little-endian).</summary>
public enum TokenDType
{
    /// <summary>Two bytes per token; enough for any vocabulary of at most 65536 ids.</summary>
    [JsonStringEnumMemberName("uint16")]
    UInt16,

    /// <summary>Four bytes per token, for larger vocabularies.</summary>
    [JsonStringEnumMemberName("uint32")]
    UInt32,
}
