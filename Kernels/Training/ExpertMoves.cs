using System.Diagnostics;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training;

/// <summary>What one rank's part of a re-placement moved.</summary>
/// <param name="Version">The map version now in use.</param>
/// <param name="CopiesSent">Expert copies this rank sent (weights and both AdamW moments each).</param>
/// <param name="CopiesReceived">Expert copies this rank received.</param>
/// <param name="BytesSent">Bytes of tensor data this rank sent.</param>
/// <param name="BytesReceived">Bytes of tensor data this rank received.</param>
/// <param name="Seconds">Wall time of the move on this rank, the agreement included.</param>
/// <param name="TotalCopies">Expert copies the move made over the EP group (every rank computes it from the maps).</param>
/// <param name="TotalBytes">Bytes the move sent over the EP group.</param>
public sealed record ExpertMoveReport(long Version, int CopiesSent, int CopiesReceived, long BytesSent, long BytesReceived, double Seconds,
    int TotalCopies, long TotalBytes);

/// <summary>
/// Applies a new expert map between two steps. Every rank of the job first all-gathers the version and a digest of the map
/// it was told to apply (a rank told otherwise fails the move on every rank: no step runs on a half-agreed placement);
/// then each copy the new map puts on a rank that lacks it comes from the expert's first host under the old map — its
/// weights and both AdamW moments in one row of a single all-to-all over the EP group (the tensors never ride a control
/// message) — and each rank lets go of the experts the new map no longer gives it. The collective is the fence: a rank
/// returns from it only when every rank has sent, so the next step runs on the new map everywhere.
/// </summary>
public static class ExpertMoves
{
    /// <summary>Moves from <paramref name="from"/> to <paramref name="to"/> on this rank (every rank of the job calls it at the same step boundary).</summary>
    /// <exception cref="InvalidOperationException">The ranks disagree on the map, or its version does not follow the current one.</exception>
    public static ExpertMoveReport Apply(DeepSeekModel model, AdamW optimizer, ExpertParallelism parallel, ExpertMap from, ExpertMap to)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(parallel);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var clock = Stopwatch.StartNew();
        Agree(parallel.World, from, to);
        if (to.Layers.Count != model.MoeLayers.Count || to.Ranks != parallel.WorldSize)
            throw new InvalidOperationException($"expert map version {to.Version} places {to.Layers.Count} layers over {to.Ranks} ranks; the model has {model.MoeLayers.Count} over {parallel.WorldSize}");

        var rank = parallel.Rank;
        var world = parallel.WorldSize;
        // Every copy to make, ordered by destination, then layer, then expert: the all-to-all's row order on both ends.
        var before = from;
        var transfers = Enumerable.Range(0, world)
            .SelectMany(d => Enumerable.Range(0, to.Layers.Count).SelectMany(l => to.Layers[l].Held(d)
                .Where(e => !before.Layers[l].Holds(d, e))
                .Select(e => (Dest: d, Layer: l, Expert: e, Source: before.Layers[l].Hosts(e)[0]))))
            .ToArray();
        var names = model.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        var template = model.MoeLayers[0].Expert(from.Layers[0].Held(rank)[0]).parameters().ToArray();
        var shapes = template.Select(p => p.shape).ToArray();
        var size = template.Sum(p => p.numel());
        var device = template[0].device;
        if (template.Any(p => p.dtype != ScalarType.Float32)) throw new InvalidOperationException("a re-placement moves float32 expert weights only");

        var outgoing = transfers.Where(t => t.Source == rank).ToArray();
        var incoming = transfers.Where(t => t.Dest == rank).OrderBy(t => t.Source).ToArray();
        var send = Enumerable.Range(0, world).Select(d => (long)outgoing.Count(t => t.Dest == d)).ToArray();
        var receive = Enumerable.Range(0, world).Select(s => (long)incoming.Count(t => t.Source == s)).ToArray();

        var arrived = to.Layers.Select(_ => new Dictionary<int, FeedForward>()).ToArray();
        var rows = new List<float[]>();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var payload = outgoing.Length == 0
                ? zeros(0, 3 * size, ScalarType.Float32, device: device)
                : stack(outgoing.Select(t => Row(model.MoeLayers[t.Layer].Expert(t.Expert), optimizer, names)).ToArray());
            var received = parallel.Collective.AllToAll(payload, send, receive).cpu();
            for (var i = 0; i < incoming.Length; i++) rows.Add(received[i].data<float>().ToArray());
        }

        // The new copies are built outside any dispose scope: the model and the optimizer own them from here.
        var moments = new Dictionary<string, (Tensor M, Tensor V)>(StringComparer.Ordinal);
        var pending = new List<(FeedForward Expert, float[] Row)>();
        for (var i = 0; i < incoming.Length; i++)
        {
            var t = incoming[i];
            var expert = model.MoeLayers[t.Layer].NewExpert(t.Expert, device);
            arrived[t.Layer][t.Expert] = expert;
            pending.Add((expert, rows[i]));
        }
        for (var l = 0; l < to.Layers.Count; l++) model.MoeLayers[l].Rehost(to.Layers[l], arrived[l]);
        names = model.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        using (no_grad())
        {
            foreach (var (expert, row) in pending)
            {
                long at = 0;
                foreach (var (p, shape) in expert.parameters().Zip(shapes))
                {
                    var n = p.numel();
                    using (var weight = tensor(row.AsSpan((int)at, (int)n).ToArray(), shape, device: device)) p.copy_(weight);
                    var m = tensor(row.AsSpan((int)(size + at), (int)n).ToArray(), shape, device: device);
                    var v = tensor(row.AsSpan((int)(2 * size + at), (int)n).ToArray(), shape, device: device);
                    moments[names[p.Handle]] = (m, v);
                    at += n;
                }
            }
        }
        optimizer.Rebind(model.named_parameters(), moments);
        var bytes = 3 * size * sizeof(float);
        return new ExpertMoveReport(to.Version, outgoing.Length, incoming.Length, outgoing.Length * bytes, incoming.Length * bytes, clock.Elapsed.TotalSeconds,
            transfers.Length, transfers.Length * bytes);
    }

    /// <summary>One expert copy as one row: its parameters, their first moments, their second moments.</summary>
    private static Tensor Row(FeedForward expert, AdamW optimizer, Dictionary<IntPtr, string> names)
    {
        var parameters = expert.parameters().ToArray();
        var moments = parameters.Select(p => optimizer.Moments(names[p.Handle])).ToArray();
        return cat([.. parameters.Select(p => p.flatten()), .. moments.Select(m => m.M.flatten()), .. moments.Select(m => m.V.flatten())]);
    }

    /// <summary>Every rank must apply the same map, of a later version than the one in use.</summary>
    private static void Agree(ICollective group, ExpertMap from, ExpertMap to)
    {
        if (to.Version <= from.Version)
            throw new InvalidOperationException($"expert map version {to.Version} does not follow the version in use ({from.Version})");
        var digest = Digest(to);
        var all = group.AllGather([to.Version, digest]);
        var odd = Enumerable.Range(0, all.Length).Where(r => all[r][0] != to.Version || all[r][1] != digest).ToArray();
        if (odd.Length > 0)
            throw new InvalidOperationException($"ranks disagree on the expert map: this rank applies version {to.Version}, rank {odd[0]} version {all[odd[0]][0]}"
                + (all[odd[0]][0] == to.Version ? " with other slots" : ""));
    }

    /// <summary>A 64-bit FNV-1a digest of the map's slots (the same on every rank for the same map).</summary>
    private static long Digest(ExpertMap map)
    {
        var hash = 14695981039346656037UL;
        foreach (var slot in map.Layers.SelectMany(l => l.Slots.Append(-1)))
        {
            hash ^= (ulong)(uint)slot;
            hash *= 1099511628211UL;
        }
        return unchecked((long)hash);
    }
}
