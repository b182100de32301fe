using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The <see cref="INodeStore"/> part of the contract: a registration replaces what a node had; marks change only status and time.</summary>
public abstract partial class MetadataStoreContract
{
    [Fact]
    public async Task UpsertNode_ListsNodeWithItsDevicesInOrder()
    {
        await Nodes.UpsertNodeAsync(new NodeRegistration("n1", "host-a", [DeviceSlot.Parse("cuda:1"), DeviceSlot.Parse("cpu:0"), DeviceSlot.Parse("cuda:0")]));

        var node = Assert.Single(await Nodes.ListNodesAsync());
        Assert.Equal("n1", node.Name);
        Assert.Equal("host-a", node.Host);
        Assert.Equal(NodeStatus.Alive, node.Status);
        Assert.Equal(Clock.GetUtcNow(), node.LastSeen);
        Assert.Equal(["cpu:0", "cuda:0", "cuda:1"], node.Devices.Select(d => d.Id));
    }

    [Fact]
    public async Task UpsertNode_Again_ReplacesHostAndDevices()
    {
        await Nodes.UpsertNodeAsync(new NodeRegistration("n1", "host-a", [DeviceSlot.Parse("cuda:0"), DeviceSlot.Parse("cuda:1")]));
        await Nodes.MarkNodeAsync("n1", NodeStatus.Dead);
        Clock.Advance(TimeSpan.FromSeconds(5));

        await Nodes.UpsertNodeAsync(new NodeRegistration("n1", "host-b", [DeviceSlot.Parse("cpu:0")]));

        var node = Assert.Single(await Nodes.ListNodesAsync());
        Assert.Equal("host-b", node.Host);
        Assert.Equal(NodeStatus.Alive, node.Status);
        Assert.Equal(Clock.GetUtcNow(), node.LastSeen);
        Assert.Equal([new DeviceSlot(DeviceKind.Cpu, 0)], node.Devices);
    }

    [Fact]
    public async Task MarkNode_SwitchesBetweenDeadAndAlive_AndRefusesUnknownNodes()
    {
        await Nodes.UpsertNodeAsync(new NodeRegistration("n1", "h", [DeviceSlot.Parse("cpu:0")]));
        await Nodes.UpsertNodeAsync(new NodeRegistration("n2", "h", []));

        Assert.True(await Nodes.MarkNodeAsync("n2", NodeStatus.Dead));
        Assert.Equal([NodeStatus.Alive, NodeStatus.Dead], (await Nodes.ListNodesAsync()).Select(n => n.Status));
        Assert.True(await Nodes.MarkNodeAsync("n2", NodeStatus.Alive));
        Assert.All(await Nodes.ListNodesAsync(), n => Assert.Equal(NodeStatus.Alive, n.Status));
        Assert.False(await Nodes.MarkNodeAsync("n3", NodeStatus.Dead));
        Assert.Equal(2, (await Nodes.ListNodesAsync()).Count);
    }
}
