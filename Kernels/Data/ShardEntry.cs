namespace Orchestrator.Kernels.Data;

/// <summary>One shard file as recorded in <c>index.json</c>.</summary>
/// <param name="FileName">File name relative to the dataset folder.</param>
/// <param name="TokenCount">Tokens in the file; its length is this times the dtype width.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file's bytes.</param>
public sealed record ShardEntry(string FileName, long TokenCount, string Sha256);
