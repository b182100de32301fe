using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The <see cref="IDataSetStore"/> part of the contract: a job's teacher data row is written once, with its lineage.</summary>
public abstract partial class MetadataStoreContract
{
    private IDataSetStore DataSets => Store;

    private static TeacherDataSet TeacherData(string job, long rows, string sha) =>
        new(job, new CheckpointSource("teacher", 40), "/data/prompts.jsonl", new string('c', 64), """{"max_tokens": 24, "temperature": 0}""",
            rows, 2, $"{job}/teacher-data/teacher.jsonl", 1234, sha);

    [Fact]
    public async Task TeacherData_IsRecordedOnce_TheFirstRowWins_AndReadsBackWithItsLineage()
    {
        Assert.NotNull(await Jobs.TryCreateJobAsync("d1", Spec));
        Assert.Null(await DataSets.GetTeacherDataAsync("d1"));
        Clock.Advance(TimeSpan.FromSeconds(5));

        var first = await DataSets.RecordTeacherDataAsync(TeacherData("d1", 10, new string('a', 64)));
        var again = await DataSets.RecordTeacherDataAsync(TeacherData("d1", 11, new string('b', 64)));

        Assert.Equal(TeacherData("d1", 10, new string('a', 64)) with { CreatedAt = Clock.GetUtcNow() }, first);
        Assert.Equal(first, again);
        Assert.Equal(first, await DataSets.GetTeacherDataAsync("d1"));
        await using var provider = new ServiceCollection().AddMetadataStore(Store).BuildServiceProvider();
        Assert.Same(Store, provider.GetRequiredService<IDataSetStore>());
    }

    [Fact]
    public async Task TeacherData_BadFieldsAndMissingJobs_AreRefused_WritingNothing()
    {
        Assert.NotNull(await Jobs.TryCreateJobAsync("d2", Spec));
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => DataSets.RecordTeacherDataAsync(TeacherData("d2", 10, "not-a-hash")));
        Assert.StartsWith("dataSet.Sha256:", bad.Message, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<ArgumentException>(() => DataSets.RecordTeacherDataAsync(TeacherData("d2", -1, new string('a', 64))));
        Assert.StartsWith("dataSet.Rows:", bad.Message, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<ArgumentException>(() => DataSets.RecordTeacherDataAsync(TeacherData("d2", 1, new string('a', 64)) with { SamplingJson = "{" }));
        Assert.Contains("SamplingJson", bad.Message, StringComparison.Ordinal);
        Assert.Null(await DataSets.GetTeacherDataAsync("d2"));

        var missing = await Assert.ThrowsAsync<KeyNotFoundException>(() => DataSets.RecordTeacherDataAsync(TeacherData("ghost", 1, new string('a', 64))));
        Assert.Contains("ghost", missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => DataSets.GetTeacherDataAsync("ghost"));
    }
}
