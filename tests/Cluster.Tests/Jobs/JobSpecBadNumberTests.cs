using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>Duplicated keys and whole numbers past their type's range: refused naming the field, never wrapped or clamped.</summary>
public sealed class JobSpecBadNumberTests
{
    public static TheoryData<string, string> PastTheirRange()
    {
        var data = new TheoryData<string, string>();
        foreach (var (path, value) in SpecIntegers.PastTheirRange()) data.Add(path, value);
        return data;
    }

    [Fact]
    public void EveryIntegerFieldOfTheSpec_IsCovered()
    {
        var paths = SpecIntegers.All().Select(f => f.Path).ToList();

        Assert.Contains("training.seed", paths);
        Assert.Contains("model.n_routed_experts", paths);
        Assert.Contains("parallel.ep", paths);
        Assert.Equal(paths.Count, paths.Distinct().Count());
        Assert.True(paths.Count >= 35, $"{paths.Count} fields");
    }

    [Theory]
    [MemberData(nameof(PastTheirRange))]
    public void AWholeNumberPastItsType_IsRefusedAsOutOfRange_NamingTheField(string field, string value)
    {
        var e = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(SpecIntegers.SpecWith("j1", "/data", field, value)));

        Assert.StartsWith($"{field}: out of range: {value} is not between ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheIssuesEp_IsOutOfRange_NotWrappedToANegativeRankCount()
    {
        var e = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(SpecIntegers.SpecWith("j1", "/data", "parallel.ep", "2147483648")));

        Assert.Equal("parallel.ep: out of range: 2147483648 is not between -2147483648 and 2147483647", e.Message);
    }

    [Theory]
    [InlineData("steps", "1.5")]
    [InlineData("steps", "1e3")]
    [InlineData("parallel.ep", "2.0")]
    [InlineData("training.threads", "1.5")]
    [InlineData("model.dim", "3e1")]
    public void ANumberThatIsNotWhole_IsRefusedAsNotWhole(string field, string value)
    {
        var e = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(SpecIntegers.SpecWith("j1", "/data", field, value)));

        Assert.StartsWith($"{field}: must be a whole number (got {value})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLargestValueOfAType_IsStillAValue()
    {
        var spec = JobSpecParser.Parse(SpecIntegers.SpecWith("j1", "/data", "steps", long.MaxValue.ToString()));
        var seeded = JobSpecParser.Parse(SpecIntegers.SpecWith("j1", "/data", "training.seed", ulong.MaxValue.ToString()));

        Assert.Equal(long.MaxValue, spec.Steps);
        Assert.Equal(ulong.MaxValue, seeded.Run.Config().Training!.Seed);
        Assert.Equal(seeded, JobSpecParser.Parse(JobSpecParser.ToJson(seeded)));
    }

    [Theory]
    [InlineData("""{"steps": 10, "steps": 20}""", "steps")]
    [InlineData("""{"parallel": {"ep": 1, "ep": 2}}""", "parallel.ep")]
    [InlineData("""{"checkpoint": {"every": 2, "keep": 1, "keep": 1}}""", "checkpoint.keep")]
    [InlineData("""{"model": {"dim": 32, "dim": 32}}""", "model.dim")]
    [InlineData("""{"training": {"lr": 0.1, "lr": 0.2}}""", "training.lr")]
    [InlineData("""{"id": "a", "id": "a"}""", "id")]
    public void ADuplicatedKey_IsASpecErrorNamingTheField(string fragment, string field)
    {
        // The fragment's keys are written over a valid spec's text, so the duplicate sits inside a real spec.
        var spec = SpecIntegers.SpecWith("j1", "/data", "steps", "5");
        var json = "{" + fragment[1..^1] + ", " + spec[1..];

        var e = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(json));

        Assert.Equal($"{field}: {DuplicateKeys.Reason}", e.Message);
    }

    [Fact]
    public void ADuplicatedKeyInANamedConfig_NamesTheConfig()
    {
        var json = """{"config": "dup", "data": "d", "steps": 3}""";
        const string named = """{"model": {"dim": 32, "dim": 64}, "training": {}}""";

        var e = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(json, name => name == "dup" ? named : null));

        Assert.Equal($"config: the named config gives model.dim twice ({DuplicateKeys.Reason})", e.Message);
    }

    [Theory]
    [InlineData("""{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}""", null)]
    [InlineData("""{"c": [{"a": 1}, {"x": 1, "x": 2}]}""", "c[1].x")]
    [InlineData("""{"c": [1, [2], {"y": {"z": 1, "z": 2}}]}""", "c[2].y.z")]
    [InlineData("""{"a": 1, /* comment */ "a": 2,}""", "a")]
    [InlineData("""{"a": 1,, "a": 2}""", null)]
    public void DuplicateKeys_FindsThePathOfTheFirstDuplicate(string json, string? expected) =>
        Assert.Equal(expected, DuplicateKeys.Find(json));
}
