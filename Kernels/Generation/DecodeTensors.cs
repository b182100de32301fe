using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>The small host ↔ device tensors of a decoding loop: padded prompts, positions, one column per row, logits read back.</summary>
internal static class DecodeTensors
{
    /// <summary>[rows, width] int64 on <paramref name="device"/>, each prompt from slot 0 (right padding), zeros after it.</summary>
    public static Tensor Padded(IReadOnlyList<int[]> prompts, int width, Device device)
    {
        var data = new long[prompts.Count * width];
        for (var r = 0; r < prompts.Count; r++)
            for (var i = 0; i < prompts[r].Length; i++) data[r * width + i] = prompts[r][i];
        return tensor(data, [prompts.Count, width], ScalarType.Int64).to(device);
    }

    /// <summary>Positions 0..width−1 for every row, [rows, width] int64.</summary>
    public static Tensor Positions(int rows, int width, Device device) =>
        arange(width, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(rows, width).contiguous();

    /// <summary>[rows, columns] int64 from row-major <paramref name="values"/>.</summary>
    public static Tensor Matrix(long[] values, int rows, Device device) =>
        tensor(values, [rows, values.Length / rows], ScalarType.Int64).to(device);

    /// <summary>One value per row, [rows, 1] int64.</summary>
    public static Tensor Column(long[] values, Device device) => Matrix(values, values.Length, device);

    /// <summary>Row r's logits at position <paramref name="at"/>[r] of [B, T, V], on the host.</summary>
    public static float[][] Rows(Tensor logits, long[] at)
    {
        using var host = logits.detach().cpu();
        return at.Select((t, r) =>
        {
            using var row = host[r, t];
            return row.data<float>().ToArray();
        }).ToArray();
    }
}
