using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The split of the metadata store into what callers need: each operation in exactly one interface, registered as each.</summary>
public sealed class StoreInterfaceTests
{
    private static readonly Type[] Interfaces = [typeof(IJobStore), typeof(IMetricStore), typeof(INodeStore), typeof(ICheckpointIndex)];

    [Fact]
    public void EveryStoreOperation_IsInExactlyOneInterface_AndEachInterfaceIsWhatItsNameSays()
    {
        var owners = Interfaces
            .SelectMany(i => i.GetMethods(BindingFlags.Public | BindingFlags.Instance).Select(m => (Interface: i.Name, Method: m.Name)))
            .GroupBy(x => x.Method)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Interface).ToArray());

        Assert.All(owners, o => Assert.Single(o.Value));
        Assert.Equal(17, owners.Count);
        Assert.Equal(
            ["AppendJobEventAsync", "GetJobAsync", "ListJobEventsAsync", "ListJobsAsync", "TryCreateJobAsync", "TryTransitionJobAsync"],
            Operations(typeof(IJobStore)));
        Assert.Equal(["AppendExpertLoadsAsync", "AppendMetricsAsync", "QueryExpertLoadsAsync", "QueryMetricsAsync"], Operations(typeof(IMetricStore)));
        Assert.Equal(["ListNodesAsync", "MarkNodeAsync", "UpsertNodeAsync"], Operations(typeof(INodeStore)));
        Assert.Equal(["CommitCheckpointAsync", "DeleteCheckpointsAsync", "GetCheckpointAsync", "ListCheckpointsAsync"], Operations(typeof(ICheckpointIndex)));
    }

    [Fact]
    public void NoInterface_LetsItsCallerDisposeTheSharedStore()
    {
        Assert.All(Interfaces, i => Assert.False(typeof(IAsyncDisposable).IsAssignableFrom(i) || typeof(IDisposable).IsAssignableFrom(i), i.Name));
        Assert.All(Interfaces, i => Assert.True(i.IsAssignableFrom(typeof(SqlMetadataStore)), i.Name));
    }

    [Fact]
    public void AddMetadataStore_RefusesNoStore()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddMetadataStore(null!));
        Assert.Equal("store", error.ParamName);
    }

    private static string[] Operations(Type type) =>
        [.. type.GetMethods().Select(m => m.Name).Order(StringComparer.Ordinal)];
}
