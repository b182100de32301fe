using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tasks;

namespace Orchestrator.Kernels.Generation;

/// <summary>How a teacher answers a prompt set: new tokens at most, sampling (temperature 0 is greedy), the seed.</summary>
/// <param name="MaxNewTokens">New tokens per prompt at most (a packed row's room caps it too).</param>
/// <param name="Temperature">Sampling temperature; 0 is greedy.</param>
/// <param name="TopP">Nucleus of the sampling, in (0, 1].</param>
/// <param name="Seed">Prompt i samples from its own stream (seed, i), so the answers do not depend on how prompts are split.</param>
public sealed record TeacherSampling(int MaxNewTokens, double Temperature, double TopP, ulong Seed);

/// <summary>One prompt's answer: its index in the prompt set, and the response text, or null when the teacher's answer was unusable.</summary>
/// <param name="Index">The prompt's line in the prompt set, from 0.</param>
/// <param name="Prompt">The prompt as the set holds it (the chat template is added when it is encoded).</param>
/// <param name="Response">The teacher's text, or null: empty (end-of-text at once) or not fitting a row once encoded again.</param>
public sealed record TeacherResponse(int Index, string Prompt, string? Response);

/// <summary>
/// A teacher model's answers to a share of a prompt set: each prompt of shard <c>s</c> of <c>n</c> (index mod n = s) in
/// the chat template (<see cref="R1Format.Prompt"/>), decoded alone with the latent cache until end-of-text or the token
/// budget, from its own seeded stream: the same prompt gets the same answer however the set is split among ranks.
/// </summary>
public static class TeacherResponses
{
    /// <summary>Answers the prompts of <paramref name="shard"/> of <paramref name="shards"/>, in index order; each answer fits a row of <paramref name="rowLength"/> tokens.</summary>
    public static IReadOnlyList<TeacherResponse> Generate(DeepSeekModel teacher, ITextTokenizer tokenizer, IReadOnlyList<string> prompts,
        int shard, int shards, int rowLength, TeacherSampling sampling, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(sampling);
        if (shard < 0 || shard >= shards) throw new ArgumentOutOfRangeException(nameof(shard), $"shard {shard} of {shards}");
        using var generator = new TextGenerator(teacher, tokenizer);
        var answers = new List<TeacherResponse>();
        for (var i = shard; i < prompts.Count; i += shards)
        {
            stop.ThrowIfCancellationRequested();
            var tokens = tokenizer.Encode(R1Format.Prompt(prompts[i]));
            // Room for the answer and its end-of-text in a row, and within the teacher's context.
            var room = Math.Min(sampling.MaxNewTokens, Math.Min(rowLength - tokens.Length - 1, teacher.Config.MaxSequenceLength - tokens.Length));
            if (room < 1)
            {
                answers.Add(new TeacherResponse(i, prompts[i], null));
                continue;
            }
            var options = new GenerationOptions
            {
                MaxNewTokens = room, Temperature = sampling.Temperature, TopP = sampling.TopP,
                Seed = SplitMix64.Split(sampling.Seed, (ulong)i).NextUInt64(),
            };
            var text = generator.Generate([tokens], options).Completions[0].Text ?? "";
            var fits = text.Length > 0 && tokens.Length + tokenizer.Encode(text).Length + 1 <= rowLength;
            answers.Add(new TeacherResponse(i, prompts[i], fits ? text : null));
        }
        return answers;
    }
}
