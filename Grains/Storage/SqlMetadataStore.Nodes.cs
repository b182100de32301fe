namespace Orchestrator.Grains.Storage;

/// <summary>Nodes and their devices: the <c>nodes</c> and <c>devices</c> tables.</summary>
public abstract partial class SqlMetadataStore : INodeStore
{
    /// <inheritdoc />
    public async Task UpsertNodeAsync(NodeRegistration node, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireNode(node);
        var now = Now();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection, transaction,
            """
            INSERT INTO nodes (name, host, status, last_seen) VALUES (@name, @host, @status, @now)
            ON CONFLICT (name) DO UPDATE SET host = excluded.host, status = excluded.status, last_seen = excluded.last_seen
            """,
            cancellationToken,
            ("name", node.Name), ("host", node.Host), ("status", nameof(NodeStatus.Alive)), ("now", ToDbTime(now))).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM devices WHERE node = @name", cancellationToken, ("name", node.Name)).ConfigureAwait(false);
        foreach (var device in node.Devices)
        {
            await ExecuteAsync(
                connection, transaction,
                "INSERT INTO devices (node, device_id, kind) VALUES (@node, @id, @kind)",
                cancellationToken,
                ("node", node.Name), ("id", device.Id), ("kind", DeviceSlot.KindName(device.Kind))).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> MarkNodeAsync(string name, NodeStatus status, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(name, nameof(name));
        StoreInput.RequireDefined(status, nameof(status));
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ExecuteAsync(
            connection, null,
            "UPDATE nodes SET status = @status, last_seen = @now WHERE name = @name",
            cancellationToken,
            ("status", status.ToString()), ("now", ToDbTime(Now())), ("name", name)).ConfigureAwait(false);
        return rows == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // One statement, so that the devices belong to the nodes as read (PostgreSQL's default isolation
        // gives each statement, not each transaction, its own snapshot).
        await using var command = Command(
            connection, null,
            "SELECT n.name, n.host, n.status, n.last_seen, d.device_id FROM nodes n LEFT JOIN devices d ON d.node = n.name ORDER BY n.name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var nodes = new List<NodeRecord>();
        var devices = new List<DeviceSlot>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            if (nodes.Count == 0 || nodes[^1].Name != name)
            {
                Close(nodes, devices);
                devices = [];
                nodes.Add(new NodeRecord(name, reader.GetString(1), ParseEnum<NodeStatus>(reader.GetString(2)), FromDbTime(reader, 3), devices));
            }

            if (!reader.IsDBNull(4))
            {
                devices.Add(DeviceSlot.Parse(reader.GetString(4)));
            }
        }

        Close(nodes, devices);
        return nodes;

        static void Close(List<NodeRecord> nodes, List<DeviceSlot> devices)
        {
            if (nodes.Count > 0)
            {
                nodes[^1] = nodes[^1] with { Devices = devices.OrderBy(d => d.Kind).ThenBy(d => d.Index).ToArray() };
            }
        }
    }
}
