namespace Orchestrator.Grains;

/// <summary>
/// What a job trains for (spec <c>kind</c>). <see cref="Pretrain"/>, <see cref="Sft"/> and <see cref="Grpo"/> run on ranks;
/// <see cref="Distill"/> specs are parsed and validated, but submitting one is refused until its teacher's generation on
/// the ranks exists.
/// </summary>
[GenerateSerializer]
public enum JobKind
{
    /// <summary>Next-token (and MTP) pretraining on a token dataset; the default when <c>kind</c> is absent.</summary>
    Pretrain = 0,

    /// <summary>Supervised fine-tuning on prompt/response JSONL (loss on response tokens only, packed rows) from a parent checkpoint.</summary>
    Sft = 1,

    /// <summary>Group Relative Policy Optimization on prompt/answer JSONL with rule-based rewards, its rollouts sampled on the job's ranks.</summary>
    Grpo = 2,

    /// <summary>A student fine-tuned on a teacher checkpoint's responses to a prompt set (not yet runnable on ranks).</summary>
    Distill = 3,
}
