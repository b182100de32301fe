using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orleans.Serialization;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The typed spec: its persisted form, the <c>kind</c> field, and its model parsed once per process.</summary>
public sealed class JobSpecTypedTests
{
    private static string Valid(Action<JsonObject>? change = null) => JobSpecParserTests.Valid(change);

    [Fact]
    public void ASpecStoredBeforeKindExisted_LoadsAsPretrain_AndIsWrittenBackByteForByte()
    {
        // The stored form of a job submitted before "kind" existed: what ToJson wrote then (no "kind").
        var stored = JobSpecParser.ToJson(JobSpecParser.Parse(Valid(s => s["max_seconds"] = 30)));
        Assert.DoesNotContain("\"kind\"", stored, StringComparison.Ordinal);

        var loaded = JobSpecParser.Parse(stored);

        Assert.Equal(JobKind.Pretrain, loaded.Kind);
        Assert.Equal(stored, JobSpecParser.ToJson(loaded));
        Assert.Equal(loaded, JobSpecParser.Parse(JobSpecParser.ToJson(loaded)));
    }

    [Fact]
    public void KindPretrain_IsTheSameJobAsNoKind()
    {
        var explicitKind = JobSpecParser.Parse(Valid(s => s["kind"] = "pretrain"));
        var noKind = JobSpecParser.Parse(Valid());

        Assert.Equal(JobKind.Pretrain, explicitKind.Kind);
        Assert.Equal(JobSpecParser.ToJson(noKind), JobSpecParser.ToJson(explicitKind));
    }

    [Theory]
    [InlineData("\"sft\"", "sft: is required for kind \"sft\"")] // a kind without its section
    [InlineData("\"grpo\"", "grpo: is required for kind \"grpo\"")]
    [InlineData("\"distill\"", "distill: is required for kind \"distill\"")]
    [InlineData("\"finetune\"", "kind: 'finetune' is not a job kind")]
    [InlineData("1", "kind: must be a job kind")]
    public void AnyOtherKind_IsRefused_NamingTheField(string value, string expected)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Valid(s => s["kind"] = JsonNode.Parse(value))));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTypedModel_CrossesTheWire_AndIsNotParsedAgainInTheProcess()
    {
        var spec = JobSpecParser.Parse(Valid(s => s["fp8"] = true));
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var slot = new RankAssignment(0, 0, 0, "n1", "cpu:0");
        var start = new RankStart(spec, slot, spec.Layout, [slot]);

        // What a rank grain receives: a new JobSpec (and RunSpec) instance, as after any grain call.
        var received = serializer.Deserialize<RankStart>(serializer.SerializeToArray(start))!.Spec;

        Assert.NotSame(spec.Run, received.Run);
        Assert.Equal(spec, received);
        // The same config instance the parser filled the cache with: the rank did not parse the model again.
        Assert.Same(spec.Run.Config(), received.Run.Config());
        Assert.Equal("fp8", received.Run.Model().GemmPrecision);
    }

    [Fact]
    public void ARestoredJob_IsTheStoredSpec_WithANewIdAndResumeFrom()
    {
        var stored = JobSpecParser.ToJson(JobSpecParser.Parse(Valid(s => s["steps"] = 10)));

        var named = JobRestore.From("j1", stored, 4, [2, 4], "j1-again");
        var defaulted = JobRestore.From("j1", stored, 4, [2, 4], " ");

        Assert.Equal(("j1-again", new CheckpointSource("j1", 4)), (named.Id, named.ResumeFrom));
        Assert.Equal("j1-from-4", defaulted.Id);
        Assert.Equal(JobSpecParser.Parse(stored) with { Id = "j1-again", ResumeFrom = new CheckpointSource("j1", 4) }, named);
    }

    [Fact]
    public void ARestore_IsRefused_WithoutTheJobOrItsCommittedCheckpoint()
    {
        var stored = JobSpecParser.ToJson(JobSpecParser.Parse(Valid(s => s["steps"] = 10)));

        Assert.Equal("no job 'gone'", Assert.Throws<KeyNotFoundException>(() => JobRestore.From("gone", null, 4, [], null)).Message);
        Assert.Equal("job 'j1' has no committed checkpoint at step 3 (committed: 2, 4)",
            Assert.Throws<KeyNotFoundException>(() => JobRestore.From("j1", stored, 3, [2, 4], null)).Message);
        Assert.Equal("job 'j1' has no committed checkpoint at step 3 (committed: none)",
            Assert.Throws<KeyNotFoundException>(() => JobRestore.From("j1", stored, 3, [], null)).Message);
        Assert.StartsWith("id: 'Bad!' is not a job id",
            Assert.Throws<JobSpecException>(() => JobRestore.From("j1", stored, 4, [4], "Bad!")).Message, StringComparison.Ordinal);
    }
}
