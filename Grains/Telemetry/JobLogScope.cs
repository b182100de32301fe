using System.Collections;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// The properties every log event written on behalf of a job carries: <c>Job</c> and <c>Epoch</c> (a rank's own
/// messages name the rank). Used as a logging scope (<c>ILogger.BeginScope</c>): the Serilog provider turns a scope of
/// key/value pairs into event properties, reading them at each event, so an epoch read through
/// <see cref="JobLogScope(string, Func{long})"/> is the one of the moment (a recovery moves it mid-call).
/// </summary>
public sealed class JobLogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    /// <summary>The property holding the job id.</summary>
    public const string JobProperty = "Job";

    /// <summary>The property holding the job epoch.</summary>
    public const string EpochProperty = "Epoch";

    private readonly string _job;
    private readonly Func<long> _epoch;

    /// <summary>The scope of job <paramref name="job"/>, whose epoch <paramref name="epoch"/> reads when an event is written.</summary>
    public JobLogScope(string job, Func<long> epoch)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(epoch);
        (_job, _epoch) = (job, epoch);
    }

    /// <summary>The scope of one fixed epoch (a rank's, which never changes).</summary>
    public JobLogScope(string job, long epoch) : this(job, () => epoch)
    {
    }

    /// <inheritdoc />
    public int Count => 2;

    /// <inheritdoc />
    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new(JobProperty, _job),
        1 => new(EpochProperty, _epoch()),
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, $"a job's log scope has {Count} properties"),
    };

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>What a text sink shows of the scope.</summary>
    public override string ToString() => $"job {_job} epoch {_epoch()}";
}
