namespace Orchestrator.Kernels.Data;

/// <summary>How one token is stored in a shard file (always little-endian).</summary>
public enum TokenDType
{
    /// <summary>Two bytes per token; enough for any vocabulary of at most 65536 ids.</summary>
    UInt16,

    /// <summary>Four bytes per token, for larger vocabularies.</summary>
    UInt32,
}
