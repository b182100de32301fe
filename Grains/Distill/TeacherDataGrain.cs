using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Distill;

/// <summary>
/// The front of the index's teacher data row of one distill job (key: job id) for its ranks, which have no store of their
/// own: a read, and the one write (the first recorded row wins; the store's <c>ON CONFLICT DO NOTHING</c>).
/// </summary>
public sealed class TeacherDataGrain(IDataSetStore store) : Grain, ITeacherDataGrain
{
    private TeacherDataSet? _recorded;

    /// <inheritdoc />
    public async Task<TeacherDataSet?> Get() => _recorded ??= await store.GetTeacherDataAsync(this.GetPrimaryKeyString());

    /// <inheritdoc />
    public async Task<TeacherDataSet> Record(TeacherDataSet dataSet)
    {
        ArgumentNullException.ThrowIfNull(dataSet);
        if (dataSet.JobId != this.GetPrimaryKeyString())
            throw new ArgumentException($"dataSet.JobId: the data set of job '{dataSet.JobId}' sent to job '{this.GetPrimaryKeyString()}'", nameof(dataSet));
        return _recorded = await store.RecordTeacherDataAsync(dataSet);
    }
}
