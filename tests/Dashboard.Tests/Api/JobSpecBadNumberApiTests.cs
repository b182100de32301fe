using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Dashboard.Tests.Support;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Dashboard.Tests.Api;

/// <summary>
/// The two bad-input faults through <c>POST /api/jobs</c>: every whole-number field of the spec given a
/// value one past either end of its type is a 400 naming the field as out of range, a duplicated key a 400 naming
/// the key; nothing is recorded and the silo keeps serving.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class JobSpecBadNumberApiTests(DashboardSilo silo)
{
    [Fact]
    public async Task EveryIntegerFieldPastItsType_Is400_OutOfRange_NamingTheField_AndRecordsNothing()
    {
        var before = (await silo.Store.ListJobsAsync()).Count;
        using var client = silo.Client();
        var cases = SpecIntegers.PastTheirRange().ToList();

        foreach (var (field, value) in cases)
        {
            var error = await RefusalAsync(client, SpecIntegers.SpecWith("range-case", silo.Data, field, value));

            Assert.Equal(field, (string?)error["field"]);
            Assert.StartsWith($"out of range: {value} is not between ", (string?)error["message"], StringComparison.Ordinal);
        }

        Assert.True(cases.Count >= 70, $"{cases.Count} cases");
        Assert.Equal(before, (await silo.Store.ListJobsAsync()).Count);
    }

    [Theory]
    [InlineData("""{"steps": 10, "steps": 20}""", "steps")]
    [InlineData("""{"parallel": {"ep": 1, "ep": 2}}""", "parallel.ep")]
    [InlineData("""{"training": {"threads": 1, "threads": 1}}""", "training.threads")]
    public async Task ADuplicatedKey_Is400_NamingTheKey_AndRecordsNothing(string fragment, string field)
    {
        var before = (await silo.Store.ListJobsAsync()).Count;
        using var client = silo.Client();
        var spec = SpecIntegers.SpecWith("dup-case", silo.Data, "steps", "5");

        var error = await RefusalAsync(client, "{" + fragment[1..^1] + ", " + spec[1..]);

        Assert.Equal(field, (string?)error["field"]);
        Assert.Equal(DuplicateKeys.Reason, (string?)error["message"]);
        Assert.Equal(before, (await silo.Store.ListJobsAsync()).Count);
        using var cluster = await client.GetAsync("/api/cluster");
        Assert.Equal(HttpStatusCode.OK, cluster.StatusCode);
    }

    private static async Task<JsonObject> RefusalAsync(HttpClient client, string body)
    {
        using var response = await client.PostAsync("/api/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }
}
