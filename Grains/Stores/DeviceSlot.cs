using System.Globalization;

namespace Orchestrator.Grains.Storage;

/// <summary>One device of a node, the unit a rank is placed on: <c>cpu:0</c>, <c>cuda:3</c>.</summary>
/// <param name="Kind">CPU or CUDA.</param>
/// <param name="Index">The device's index on its node, from 0.</param>
public sealed record DeviceSlot(DeviceKind Kind, int Index)
{
    /// <summary>The device id as stored and as written on the command line, e.g. <c>cuda:3</c>.</summary>
    public string Id => $"{KindName(Kind)}:{Index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Whether the device id names a simulated device (<c>sim:N</c>).</summary>
    public static bool IsSimulated(string id) => id.StartsWith("sim:", StringComparison.Ordinal);

    /// <summary>Reads <c>cpu:N</c>, <c>cuda:N</c> or <c>sim:N</c>.</summary>
    /// <exception cref="FormatException">The text is not a device id.</exception>
    public static DeviceSlot Parse(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0
            && TryParseKind(id[..colon], out var kind)
            && int.TryParse(id.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return new DeviceSlot(kind, index);
        }

        throw new FormatException($"device id '{id}' is not of the form cpu:N, cuda:N or sim:N");
    }

    public static string KindName(DeviceKind kind) => kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.Cuda => "cuda",
        DeviceKind.Sim => "sim",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown device kind"),
    };

    private static bool TryParseKind(string text, out DeviceKind kind)
    {
        switch (text)
        {
            case "cpu":
                kind = DeviceKind.Cpu;
                return true;
            case "cuda":
                kind = DeviceKind.Cuda;
                return true;
            case "sim":
                kind = DeviceKind.Sim;
                return true;
            default:
                kind = default;
                return false;
        }
    }
}
