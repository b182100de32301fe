using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Silo.Training;

/// <summary>The summary a run writes with <c>--summary-json</c>.</summary>
public sealed record RunSummary
{
    /// <summary>Steps completed in total (including those before a resume).</summary>
    [JsonPropertyName("steps")] public long Steps { get; init; }
    [JsonPropertyName("steps_this_run")] public long StepsThisRun { get; init; }
    [JsonPropertyName("resumed_from_step")] public long? ResumedFromStep { get; init; }
    [JsonPropertyName("loss_first")] public double LossFirst { get; init; }
    [JsonPropertyName("loss_last")] public double LossLast { get; init; }
    [JsonPropertyName("tokens_per_second")] public double TokensPerSecond { get; init; }
    [JsonPropertyName("max_vio_last")] public double MaxVioLast { get; init; }
    /// <summary>A cluster run's MaxVio over the last steps' loads summed (the job's <c>max_vio_window</c>) at its last step; null for a single-process run.</summary>
    [JsonPropertyName("max_vio_window_last")] public double? MaxVioWindowLast { get; init; }
    [JsonPropertyName("params_total")] public long ParamsTotal { get; init; }
    [JsonPropertyName("params_active")] public long ParamsActive { get; init; }
    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("last_checkpoint")] public string? LastCheckpoint { get; init; }
    /// <summary>Total loss of every step of this run, in order (exact doubles).</summary>
    [JsonPropertyName("losses")] public IReadOnlyList<double> Losses { get; init; } = [];
    /// <summary>Largest per-layer MaxVio of every step of this run.</summary>
    [JsonPropertyName("max_vio")] public IReadOnlyList<double> MaxVio { get; init; } = [];
    /// <summary>A cluster run's windowed MaxVio of every step of this run (empty for a single-process run).</summary>
    [JsonPropertyName("max_vio_window")] public IReadOnlyList<double> MaxVioWindow { get; init; } = [];
    /// <summary>A cluster run's ranks: device and data plane of each (empty for a single-process run).</summary>
    [JsonPropertyName("ranks")] public IReadOnlyList<RankDataPlaneSummary> Ranks { get; init; } = [];

    /// <summary>Writes the summary as indented JSON, creating the folder.</summary>
    public void Write(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));
    }
}

/// <summary>One rank of a cluster run and the data plane it used (the job's <c>data-plane</c> event).</summary>
public sealed record RankDataPlaneSummary
{
    /// <summary>The job rank.</summary>
    [JsonPropertyName("rank")] public int Rank { get; init; }
    /// <summary>Its device slot, e.g. <c>cuda:1</c>.</summary>
    [JsonPropertyName("device")] public string Device { get; init; } = "";
    /// <summary><c>nccl (id via grains)</c>, <c>grains</c> or <c>none</c>.</summary>
    [JsonPropertyName("data_plane")] public string DataPlane { get; init; } = "";
    /// <summary>Why that data plane.</summary>
    [JsonPropertyName("reason")] public string Reason { get; init; } = "";
    /// <summary>The epoch the rank belonged to.</summary>
    [JsonPropertyName("epoch")] public long Epoch { get; init; }
}
