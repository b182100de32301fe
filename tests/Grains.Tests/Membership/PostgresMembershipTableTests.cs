using System.Net;
using Orchestrator.Grains.Membership;
using Orchestrator.Grains.Tests.Support;
using Orleans;
using Orleans.Runtime;

namespace Orchestrator.Grains.Tests.Membership;

/// <summary>The membership table against Orleans' documented contract, on a real PostgreSQL; each test its own cluster id.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMembershipTableTests(PostgresServer server) : IAsyncLifetime
{
    private MembershipTableHarness? _harness;
    private PostgresMembershipTable? _table;

    private MembershipTableHarness Harness => _harness ?? throw new InvalidOperationException("not initialised");

    private PostgresMembershipTable Table => _table ?? throw new InvalidOperationException("not initialised");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _harness = new MembershipTableHarness(await server.DatabaseForAsync(GetType()), "c-" + Guid.NewGuid().ToString("N"));
        _table = Harness.Table();
        await Table.InitializeMembershipTable(tryInitTableVersion: true);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_table is not null)
        {
            await _table.DisposeAsync();
        }
    }

    [Fact]
    public async Task Initialize_CreatesAnEmptyVersionZero_AndAgainChangesNothing()
    {
        var first = await Table.ReadAll();
        await Table.InitializeMembershipTable(tryInitTableVersion: true);
        await using var other = Harness.Table();
        await other.InitializeMembershipTable(tryInitTableVersion: true);

        var second = await Table.ReadAll();
        Assert.Empty(first.Members);
        Assert.Equal(0, first.Version.Version);
        Assert.Equal(first.Version, second.Version);
    }

    [Fact]
    public async Task InsertRow_WithTheCurrentEtag_AddsTheRowAndBumpsTheVersion()
    {
        var entry = MembershipTableHarness.Entry(11111, SiloStatus.Active, proxyPort: 30000);
        entry.SuspectTimes = [Tuple.Create(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11112), 7), MembershipTableHarness.Now.AddSeconds(3))];
        var version = (await Table.ReadAll()).Version;

        Assert.True(await Table.InsertRow(entry, version.Next()));

        var row = await Table.ReadRow(entry.SiloAddress);
        var (read, etag) = Assert.Single(row.Members);
        Assert.Equal(1, row.Version.Version);
        Assert.NotEqual(version.VersionEtag, row.Version.VersionEtag);
        Assert.False(string.IsNullOrEmpty(etag));
        Assert.Equal(entry.SiloAddress, read.SiloAddress);
        Assert.Equal(SiloStatus.Active, read.Status);
        Assert.Equal(30000, read.ProxyPort);
        Assert.Equal(("host-11111", "silo-11111", "orchestrator", 1, 2), (read.HostName, read.SiloName, read.RoleName, read.UpdateZone, read.FaultZone));
        Assert.Equal(entry.StartTime, read.StartTime);
        Assert.Equal(entry.IAmAliveTime, read.IAmAliveTime);
        Assert.NotNull(read.SuspectTimes);
        var suspicion = Assert.Single(read.SuspectTimes);
        Assert.Equal(entry.SuspectTimes[0].Item1, suspicion.Item1);
        Assert.Equal(entry.SuspectTimes[0].Item2, suspicion.Item2);
    }

    [Fact]
    public async Task InsertRow_WithAStaleTableEtag_OrForAnExistingSilo_FailsAndChangesNothing()
    {
        var stale = (await Table.ReadAll()).Version;
        Assert.True(await Table.InsertRow(MembershipTableHarness.Entry(11111), stale.Next()));
        var current = await Table.ReadAll();

        Assert.False(await Table.InsertRow(MembershipTableHarness.Entry(11112), stale.Next()));
        Assert.False(await Table.InsertRow(MembershipTableHarness.Entry(11111, SiloStatus.Active), current.Version.Next()));
        Assert.False(await Table.InsertRow(MembershipTableHarness.Entry(11113), new TableVersion(current.Version.Version + 1, "not-an-etag")));
        Assert.False(await Table.InsertRow(MembershipTableHarness.Entry(11114), new TableVersion(current.Version.Version + 5, stale.VersionEtag)));

        var after = await Table.ReadAll();
        Assert.Equal(current.Version, after.Version);
        var (only, _) = Assert.Single(after.Members);
        Assert.Equal(SiloStatus.Joining, only.Status);
    }

    [Fact]
    public async Task UpdateRow_NeedsBothTheRowEtagAndTheTableEtagCurrent()
    {
        var entry = MembershipTableHarness.Entry(11111);
        Assert.True(await Table.InsertRow(entry, (await Table.ReadAll()).Version.Next()));
        var read = await Table.ReadRow(entry.SiloAddress);
        var rowEtag = read.Members[0].Item2;
        entry.Status = SiloStatus.Active;

        // The version must move forward, even with the right etags.
        Assert.False(await Table.UpdateRow(entry, rowEtag, read.Version));
        var reread = await Table.ReadRow(entry.SiloAddress);
        Assert.Equal(read.Version, reread.Version);
        Assert.True(await Table.UpdateRow(entry, reread.Members[0].Item2, reread.Version.Next()));

        var updated = await Table.ReadRow(entry.SiloAddress);
        Assert.Equal(SiloStatus.Active, updated.Members[0].Item1.Status);
        Assert.NotEqual(reread.Members[0].Item2, updated.Members[0].Item2);

        // Stale row etag with a current table version; current row etag with a stale table version.
        entry.Status = SiloStatus.Dead;
        Assert.False(await Table.UpdateRow(entry, reread.Members[0].Item2, updated.Version.Next()));
        Assert.False(await Table.UpdateRow(entry, updated.Members[0].Item2, reread.Version.Next()));
        Assert.False(await Table.UpdateRow(MembershipTableHarness.Entry(22222), updated.Members[0].Item2, updated.Version.Next()));
        var last = await Table.ReadRow(entry.SiloAddress);
        Assert.Equal(updated.Version, last.Version);
        Assert.Equal(SiloStatus.Active, last.Members[0].Item1.Status);
    }

    [Fact]
    public async Task TwoWritersOnTheSameTableVersion_ExactlyOneWins()
    {
        var version = (await Table.ReadAll()).Version.Next();
        await using var first = Harness.Table();
        await using var second = Harness.Table();

        // Each table has its own data source: two connections, two transactions racing for the version row.
        var outcomes = await Task.WhenAll(
            Task.Run(() => first.InsertRow(MembershipTableHarness.Entry(11111), version)),
            Task.Run(() => second.InsertRow(MembershipTableHarness.Entry(11112), version)));

        Assert.Single(outcomes, won => won);
        var after = await Table.ReadAll();
        Assert.Single(after.Members);
        Assert.Equal(version.Version, after.Version.Version);
    }

    [Fact]
    public async Task UpdateIAmAlive_ChangesOnlyTheHeartbeat_AndKeepsEarlierReadsUsable()
    {
        var entry = MembershipTableHarness.Entry(11111, SiloStatus.Active);
        Assert.True(await Table.InsertRow(entry, (await Table.ReadAll()).Version.Next()));
        var before = await Table.ReadRow(entry.SiloAddress);

        var heartbeat = MembershipTableHarness.Entry(11111, SiloStatus.Dead);
        heartbeat.IAmAliveTime = MembershipTableHarness.Now.AddSeconds(42);
        await Table.UpdateIAmAlive(heartbeat);

        var after = await Table.ReadRow(entry.SiloAddress);
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(before.Members[0].Item2, after.Members[0].Item2);
        Assert.Equal(MembershipTableHarness.Now.AddSeconds(42), after.Members[0].Item1.IAmAliveTime);
        Assert.Equal(SiloStatus.Active, after.Members[0].Item1.Status);
        entry.Status = SiloStatus.ShuttingDown;
        Assert.True(await Table.UpdateRow(entry, before.Members[0].Item2, before.Version.Next()));
    }

    [Fact]
    public async Task UpdateIAmAlive_ForASiloWithoutARow_SaysSo()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Table.UpdateIAmAlive(MembershipTableHarness.Entry(11111)));
        Assert.Contains("no membership row", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CleanupDefunctSiloEntries_RemovesOnlyDeadRowsLastUpdatedBeforeTheCutoff()
    {
        var oldDead = MembershipTableHarness.Entry(11111, SiloStatus.Dead);
        var recentDead = MembershipTableHarness.Entry(11112, SiloStatus.Dead);
        recentDead.IAmAliveTime = MembershipTableHarness.Now.AddHours(2);
        var suspectedLate = MembershipTableHarness.Entry(11113, SiloStatus.Dead);
        suspectedLate.SuspectTimes = [Tuple.Create(oldDead.SiloAddress, MembershipTableHarness.Now.AddHours(2))];
        var oldActive = MembershipTableHarness.Entry(11114, SiloStatus.Active);
        foreach (var entry in new[] { oldDead, recentDead, suspectedLate, oldActive })
        {
            Assert.True(await Table.InsertRow(entry, (await Table.ReadAll()).Version.Next()));
        }

        await Table.CleanupDefunctSiloEntries(new DateTimeOffset(MembershipTableHarness.Now.AddHours(1)));

        var left = (await Table.ReadAll()).Members.Select(m => m.Item1.SiloAddress.Endpoint.Port).Order();
        Assert.Equal([11112, 11113, 11114], left);
    }

    [Fact]
    public async Task DeleteMembershipTableEntries_RemovesOnlyThatCluster()
    {
        await using var other = Harness.Table("other-" + Guid.NewGuid().ToString("N"));
        await other.InitializeMembershipTable(tryInitTableVersion: true);
        Assert.True(await other.InsertRow(MembershipTableHarness.Entry(11111), (await other.ReadAll()).Version.Next()));
        Assert.True(await Table.InsertRow(MembershipTableHarness.Entry(11111), (await Table.ReadAll()).Version.Next()));

        await Table.DeleteMembershipTableEntries(Harness.ClusterId);

        Assert.Empty((await Table.ReadAll()).Members);
        Assert.False(await Table.InsertRow(MembershipTableHarness.Entry(11112), (await Table.ReadAll()).Version.Next()));
        Assert.Single((await other.ReadAll()).Members);
    }

    [Fact]
    public async Task GatewayList_HasOnlyActiveSilosWithAGatewayPort()
    {
        var entries = new[]
        {
            MembershipTableHarness.Entry(11111, SiloStatus.Active, proxyPort: 30001),
            MembershipTableHarness.Entry(11112, SiloStatus.Active, proxyPort: 0),
            MembershipTableHarness.Entry(11113, SiloStatus.Dead, proxyPort: 30003),
            MembershipTableHarness.Entry(11114, SiloStatus.Joining, proxyPort: 30004),
            MembershipTableHarness.Entry(11115, SiloStatus.Active, proxyPort: 30005, generation: 9),
        };
        foreach (var entry in entries)
        {
            Assert.True(await Table.InsertRow(entry, (await Table.ReadAll()).Version.Next()));
        }

        await using var gateways = Harness.Gateways();
        await gateways.InitializeGatewayListProvider();

        var uris = await gateways.GetGateways();
        Assert.Equal(
            [SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 30001), 1).ToGatewayUri(), SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 30005), 9).ToGatewayUri()],
            uris);
        Assert.True(gateways.IsUpdatable);
    }
}
