namespace Orchestrator.Grains;

/// <summary>
/// The index's record of a distill job's teacher data set (key: job id), for the job's ranks: they ask whether it is
/// complete (a recovery reuses it) and rank 0 records it once it is written.
/// </summary>
public interface ITeacherDataGrain : IGrainWithStringKey
{
    /// <summary>The recorded data set, or null while there is none.</summary>
    Task<TeacherDataSet?> Get();

    /// <summary>Records <paramref name="dataSet"/> unless one is recorded already; returns the recorded one (the first wins).</summary>
    Task<TeacherDataSet> Record(TeacherDataSet dataSet);
}
