namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>One tokenised SFT example: the templated prompt, then the response and end-of-text.</summary>
/// <param name="Tokens">Prompt tokens followed by response tokens (the last one end-of-text).</param>
/// <param name="PromptLength">How many of <paramref name="Tokens"/> are the prompt (no loss on them).</param>
public sealed record SftExample(int[] Tokens, int PromptLength)
{
    /// <summary>Tokens the loss is taken on: the response and its end-of-text.</summary>
    public int ResponseLength => Tokens.Length - PromptLength;
}
