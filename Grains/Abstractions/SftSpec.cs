namespace Orchestrator.Grains;

/// <summary>The spec's <c>sft</c> section: where the fine-tuning starts and how its JSONL is tokenised.</summary>
/// <param name="FromCheckpoint">The parent: a committed checkpoint (normally a pretrain job's) whose weights the job starts from.</param>
/// <param name="Tokenizer">The tokenizer the prompts and responses are encoded with (the parent's data's: <c>bytes</c> or <c>gpt2</c>).</param>
[GenerateSerializer, Immutable]
public sealed record SftSpec([property: Id(0)] CheckpointSource FromCheckpoint, [property: Id(1)] string Tokenizer);
