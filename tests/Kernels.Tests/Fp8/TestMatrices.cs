namespace Orchestrator.Kernels.Tests.Fp8;

internal static class TestMatrices
{
    /// <summary>Row-major values with a per-row magnitude spread so that tiles get different scales.</summary>
    public static float[] Random(int rows, int columns, int seed, double mean = 0, double spread = 1)
    {
        var random = new Random(seed);
        var values = new float[rows * columns];
        for (var r = 0; r < rows; r++)
        {
            var rowScale = Math.Pow(2, random.Next(-4, 5));
            for (var c = 0; c < columns; c++)
                values[(r * columns) + c] = (float)(rowScale * (mean + (spread * ((random.NextDouble() * 2) - 1))));
        }

        return values;
    }
}
