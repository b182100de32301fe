namespace Orchestrator.Grains.Storage;

/// <summary>
/// Data sets a job generated (a distill job's teacher answers), with their lineage: written once, never replaced.
/// </summary>
/// <remarks>Operations on a job that does not exist throw <see cref="KeyNotFoundException"/>.</remarks>
public interface IDataSetStore
{
    /// <summary>Records <paramref name="dataSet"/> if the job has none yet; returns the row as stored (an earlier one wins).</summary>
    /// <exception cref="ArgumentException">A field is empty or negative; the message names it. Nothing is written.</exception>
    Task<TeacherDataSet> RecordTeacherDataAsync(TeacherDataSet dataSet, CancellationToken cancellationToken = default);

    /// <summary>The job's teacher data set, or null if none is recorded.</summary>
    Task<TeacherDataSet?> GetTeacherDataAsync(string jobId, CancellationToken cancellationToken = default);
}
