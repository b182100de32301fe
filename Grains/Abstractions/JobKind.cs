namespace Orchestrator.Grains;

/// <summary>
/// What a job trains for (spec <c>kind</c>). Only <see cref="Pretrain"/> exists; the R1 kinds (sft, grpo,
/// distill) are refused by the parser until their objectives are built.
/// </summary>
[GenerateSerializer]
public enum JobKind
{
    /// <summary>Next-token (and MTP) pretraining on a token dataset; the default when <c>kind</c> is absent.</summary>
    Pretrain = 0,
}
