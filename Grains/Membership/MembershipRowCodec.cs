using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;
using Orleans;
using Orleans.Runtime;

namespace Orchestrator.Grains.Membership;

/// <summary>How a <see cref="MembershipEntry"/> maps to a row of the <c>membership</c> table and back.</summary>
internal static class MembershipRowCodec
{
    /// <summary>The row's columns after the key, in the order <see cref="Read"/> expects them (from ordinal 0).</summary>
    public const string Columns =
        "m.address, m.port, m.generation, m.silo_name, m.host_name, m.role_name, m.status, m.proxy_port, " +
        "m.update_zone, m.fault_zone, m.suspect_times, m.start_time, m.i_am_alive_time, m.etag";

    public const string InsertColumns =
        "cluster_id, address, port, generation, silo_name, host_name, role_name, status, proxy_port, " +
        "update_zone, fault_zone, suspect_times, start_time, i_am_alive_time, last_update, etag";

    public const string InsertValues =
        "@cluster, @address, @port, @generation, @siloName, @hostName, @roleName, @status, @proxyPort, " +
        "@updateZone, @faultZone, @suspectTimes, @startTime, @iAmAliveTime, @lastUpdate, @etag";

    public const string UpdateAssignments =
        "silo_name = @siloName, host_name = @hostName, role_name = @roleName, status = @status, proxy_port = @proxyPort, " +
        "update_zone = @updateZone, fault_zone = @faultZone, suspect_times = @suspectTimes, start_time = @startTime, " +
        "i_am_alive_time = @iAmAliveTime, last_update = @lastUpdate, etag = @etag";

    public const string KeyCondition = "cluster_id = @cluster AND address = @address AND port = @port AND generation = @generation";

    public static void AddKey(NpgsqlCommand command, string clusterId, SiloAddress silo)
    {
        command.Parameters.AddWithValue("cluster", clusterId);
        command.Parameters.AddWithValue("address", silo.Endpoint.Address.ToString());
        command.Parameters.AddWithValue("port", silo.Endpoint.Port);
        command.Parameters.AddWithValue("generation", silo.Generation);
    }

    public static void AddFields(NpgsqlCommand command, MembershipEntry entry, long etag)
    {
        command.Parameters.AddWithValue("siloName", entry.SiloName ?? string.Empty);
        command.Parameters.AddWithValue("hostName", entry.HostName ?? string.Empty);
        command.Parameters.AddWithValue("roleName", entry.RoleName ?? string.Empty);
        command.Parameters.AddWithValue("status", (int)entry.Status);
        command.Parameters.AddWithValue("proxyPort", entry.ProxyPort);
        command.Parameters.AddWithValue("updateZone", entry.UpdateZone);
        command.Parameters.AddWithValue("faultZone", entry.FaultZone);
        command.Parameters.AddWithValue("suspectTimes", (object?)WriteSuspectTimes(entry.SuspectTimes) ?? DBNull.Value);
        command.Parameters.AddWithValue("startTime", Utc(entry.StartTime));
        command.Parameters.AddWithValue("iAmAliveTime", Utc(entry.IAmAliveTime));
        command.Parameters.AddWithValue("lastUpdate", LastUpdate(entry));
        command.Parameters.AddWithValue("etag", etag);
    }

    public static Tuple<MembershipEntry, string> Read(NpgsqlDataReader reader, int first)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(reader.GetString(first)), reader.GetInt32(first + 1));
        var entry = new MembershipEntry
        {
            SiloAddress = SiloAddress.New(endpoint, reader.GetInt32(first + 2)),
            SiloName = reader.GetString(first + 3),
            HostName = reader.GetString(first + 4),
            RoleName = reader.GetString(first + 5),
            Status = (SiloStatus)reader.GetInt32(first + 6),
            ProxyPort = reader.GetInt32(first + 7),
            UpdateZone = reader.GetInt32(first + 8),
            FaultZone = reader.GetInt32(first + 9),
            SuspectTimes = ReadSuspectTimes(reader.IsDBNull(first + 10) ? null : reader.GetString(first + 10)),
            StartTime = reader.GetDateTime(first + 11),
            IAmAliveTime = reader.GetDateTime(first + 12),
        };
        return Tuple.Create(entry, reader.GetInt64(first + 13).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Orleans hands us UTC times, but a caller may not mark them so; timestamptz needs them marked.</summary>
    public static DateTime Utc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };

    /// <summary>The latest of start, heartbeat and suspicion times: what defunct-entry cleanup ages a row by.</summary>
    public static DateTime LastUpdate(MembershipEntry entry)
    {
        var latest = Utc(entry.StartTime) > Utc(entry.IAmAliveTime) ? Utc(entry.StartTime) : Utc(entry.IAmAliveTime);
        foreach (var suspicion in entry.SuspectTimes ?? [])
        {
            if (Utc(suspicion.Item2) > latest)
            {
                latest = Utc(suspicion.Item2);
            }
        }

        return latest;
    }

    /// <summary>Etags are our own numbers written as text; anything else cannot match any row.</summary>
    public static bool TryParseEtag(string? etag, out long value) =>
        long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    // Suspicions as a JSON array of [silo, time] pairs: few per row, read only by Orleans.
    private static string? WriteSuspectTimes(List<Tuple<SiloAddress, DateTime>>? suspectTimes)
    {
        if (suspectTimes is null || suspectTimes.Count == 0)
        {
            return null;
        }

        var pairs = suspectTimes
            .Select(s => new[] { s.Item1.ToParsableString(), Utc(s.Item2).ToString("O", CultureInfo.InvariantCulture) })
            .ToArray();
        return JsonSerializer.Serialize(pairs);
    }

    private static List<Tuple<SiloAddress, DateTime>> ReadSuspectTimes(string? json)
    {
        var list = new List<Tuple<SiloAddress, DateTime>>();
        if (json is null)
        {
            return list;
        }

        foreach (var pair in JsonSerializer.Deserialize<string[][]>(json) ?? [])
        {
            list.Add(Tuple.Create(
                SiloAddress.FromParsableString(pair[0]),
                DateTime.Parse(pair[1], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)));
        }

        return list;
    }
}
