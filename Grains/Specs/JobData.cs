using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The checks a spec passes at submission beyond its text: its data file reads (for sft every line of the JSONL,
/// tokenised and fitted to a row; for grpo and distill every line of the prompt set, and a distill tokenizer the student's
/// vocabulary covers) and its kind runs on ranks. A refusal is a <see cref="JobSpecException"/> naming the
/// field (<c>data: line 3: …</c>), thrown before anything is stored.
/// </summary>
public static class JobData
{
    /// <summary>Refuses a spec its ranks could not run; reads (only) the kind's data file.</summary>
    public static void Check(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        switch (spec.Kind)
        {
            case JobKind.Sft:
                Examples(spec);
                break;
            case JobKind.Grpo:
                GrpoJob.Check(spec);
                break;
            case JobKind.Distill:
                Read(() => PromptSet.Load(spec.DataDirectory, requireAnswer: false));
                var tokenizer = TokenizerCatalog.Create(spec.Distill!.Tokenizer);
                var vocab = spec.Run.Config().Model!.VocabSize;
                if (tokenizer.VocabSize > vocab)
                    throw new JobSpecException("distill.tokenizer", $"'{tokenizer.Name}' has {tokenizer.VocabSize} ids, more than the student's model.vocab_size ({vocab})");
                break;
        }
    }

    /// <summary>The sft job's examples, read and tokenised from its data file; bad data is named with its line.</summary>
    public static IReadOnlyList<SftExample> Examples(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var sft = spec.Sft ?? throw new JobSpecException("sft", "is required for kind \"sft\"");
        var row = spec.Run.Config().Training!.SequenceLength + 1;
        return Read(() => SftExamples.Load(spec.DataDirectory, TokenizerCatalog.Create(sft.Tokenizer), row));
    }

    private static T Read<T>(Func<T> load)
    {
        try
        {
            return load();
        }
        catch (DataFileException e)
        {
            throw new JobSpecException("data", e.Message);
        }
    }
}
