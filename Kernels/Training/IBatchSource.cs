namespace Orchestrator.Kernels.Training;

/// <summary>Token windows for a step, a pure function of (step, micro-step) so that a resumed run reads what the uninterrupted one would.</summary>
public interface IBatchSource
{
    /// <summary>Vocabulary size of the tokens served; the model's vocab_size must cover it.</summary>
    int VocabSize { get; }

    /// <summary>Fills <paramref name="destination"/> with micro-batch × window tokens, row-major.</summary>
    void Fill(long step, int microStep, Span<long> destination);
}
