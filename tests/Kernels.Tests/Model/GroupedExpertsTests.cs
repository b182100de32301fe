using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Model;

public sealed class GroupedExpertsTests
{
    public GroupedExpertsTests() => Torch.Ready();

    private const int Dim = 24;
    private const int Hidden = 16;

    private static FeedForward[] NewExperts(int count, GemmPrecision precision = GemmPrecision.Float32)
    {
        var experts = new FeedForward[count];
        for (var e = 0; e < count; e++)
        {
            experts[e] = new FeedForward($"expert{e}", Dim, Hidden, precision);
            ParameterInit.Initialize(experts[e], (ulong)(100 + e), 0.2);
        }
        return experts;
    }

    private static Tensor Rows(long[] counts, ulong seed = 5)
    {
        using var generator = new TorchSharp.torch.Generator(seed);
        return randn([counts.Sum(), Dim], generator: generator).requires_grad_(true);
    }

    /// <summary>The per-expert loop of the single-process path (experts with no rows are skipped).</summary>
    private static Tensor Loop(Tensor rows, long[] counts, FeedForward[] experts)
    {
        var outputs = new List<Tensor>();
        long start = 0;
        for (var e = 0; e < counts.Length; e++)
        {
            if (counts[e] == 0) continue;
            outputs.Add(experts[e].forward(rows.narrow(0, start, counts[e])));
            start += counts[e];
        }
        return cat(outputs, 0);
    }

    /// <summary>Output, input gradient and every weight gradient (zero where an expert had no rows) for one loss.</summary>
    private static float[][] OutputAndGradients(Func<Tensor, Tensor> run, long[] counts, FeedForward[] experts)
    {
        foreach (var p in experts.SelectMany(x => x.parameters())) p.grad = null;
        using var rows = Rows(counts);
        using var output = run(rows);
        using var weights = arange(output.numel(), dtype: ScalarType.Float32).reshape(output.shape).cos();
        using var loss = (output * weights).sum();
        loss.backward();
        var results = new List<float[]> { output.detach().data<float>().ToArray(), rows.grad!.data<float>().ToArray() };
        foreach (var p in experts.SelectMany(x => x.parameters()))
            results.Add(p.grad is null ? new float[p.numel()] : p.grad.data<float>().ToArray());
        return results.ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = Math.Max(1e-12, expected.Max(v => Math.Abs((double)v)));
        var worst = expected.Zip(actual, (a, b) => Math.Abs((double)a - b)).DefaultIfEmpty(0).Max();
        Assert.True(worst <= relative * scale, $"{what}: max difference {worst:E3} exceeds {relative:E0} of {scale:E3}");
    }

    [Theory]
    [InlineData(new long[] { 7, 0, 3, 12, 1 })]
    [InlineData(new long[] { 0, 0, 130, 0 })]
    [InlineData(new long[] { 1, 1, 1 })]
    public void Grouped_MatchesThePerExpertLoop_ForwardAndGradients_InFloat32(long[] counts)
    {
        var experts = NewExperts(counts.Length);
        var loop = OutputAndGradients(rows => Loop(rows, counts, experts), counts, experts);
        var grouped = OutputAndGradients(rows => GroupedExperts.Run(rows, counts, experts, GroupedExperts.Capacity(counts)), counts, experts);

        Assert.Equal(loop.Length, grouped.Length);
        for (var i = 0; i < loop.Length; i++) AssertClose(loop[i], grouped[i], 1e-5, i == 0 ? "output" : i == 1 ? "input gradient" : $"weight gradient {i - 2}");
    }

    [Fact]
    public void Grouped_IsBitDeterministic()
    {
        long[] counts = [5, 9, 0, 2];
        var experts = NewExperts(counts.Length);
        var first = OutputAndGradients(rows => GroupedExperts.Run(rows, counts, experts, GroupedExperts.Capacity(counts)), counts, experts);
        var second = OutputAndGradients(rows => GroupedExperts.Run(rows, counts, experts, GroupedExperts.Capacity(counts)), counts, experts);
        for (var i = 0; i < first.Length; i++) Assert.Equal(first[i], second[i]);
    }

    [Fact]
    public void Grouped_GivesAnExpertWithNoRows_AZeroGradient_AndHandlesAllExpertsEmpty()
    {
        long[] counts = [4, 0, 3];
        var experts = NewExperts(counts.Length);
        var grouped = OutputAndGradients(rows => GroupedExperts.Run(rows, counts, experts, GroupedExperts.Capacity(counts)), counts, experts);
        Assert.NotNull(experts[1].W1.Weight.grad);
        Assert.All(experts[1].parameters(), p => Assert.Equal(0f, p.grad!.abs().max().item<float>()));
        Assert.Equal(7 * Dim, grouped[0].Length);

        using var none = zeros(0, Dim);
        using var output = GroupedExperts.Run(none, [0, 0, 0], experts, GroupedExperts.Capacity([0, 0, 0]));
        Assert.Equal([0L, Dim], output.shape);
    }

    [Fact]
    public void Capacity_IsTheLargestCountRoundedUpTo128_AndTooSmallACapacityIsRefused()
    {
        Assert.Equal(128, GroupedExperts.Capacity([0, 0]));
        Assert.Equal(128, GroupedExperts.Capacity([1, 128, 5]));
        Assert.Equal(256, GroupedExperts.Capacity([129, 3]));
        Assert.Throws<ArgumentException>(() => GroupedExperts.Capacity([3, -1]));

        var experts = NewExperts(2);
        using var rows = Rows([3, 200]);
        var error = Assert.Throws<ArgumentException>(() => GroupedExperts.Run(rows, [3, 200], experts, 128));
        Assert.Contains("capacity 128", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => GroupedExperts.Run(rows, [3, 199], experts, 256));
    }

    [Fact]
    public void GroupedProjection_InBFloat16_MatchesTheProjectionPerExpert()
    {
        using var x = randn(3, 128, 256);
        using var weight = randn(3, 128, 256);
        using var grouped = GroupedExperts.Project(x, weight, GemmPrecision.BFloat16);
        using var each = GroupedExperts.ProjectEach(x, weight, GemmPrecision.BFloat16);
        AssertClose(each.data<float>().ToArray(), grouped.data<float>().ToArray(), 1e-5, "bfloat16");
    }

    /// <summary>
    /// On the CPU the grouped FP8 products are the emulation per expert on the padded batch: zero pad rows
    /// must not change any tile (Fprop, Dgrad) nor the token-wise tiles of Wgrad.
    /// </summary>
    [Fact]
    public void Grouped_InFp8Emulation_MatchesThePerExpertLoop()
    {
        long[] counts = [7, 0, 3, 140];
        var experts = NewExperts(counts.Length, GemmPrecision.Fp8);
        var loop = OutputAndGradients(rows => Loop(rows, counts, experts), counts, experts);
        var grouped = OutputAndGradients(rows => GroupedExperts.Run(rows, counts, experts, GroupedExperts.Capacity(counts)), counts, experts);
        for (var i = 0; i < loop.Length; i++) AssertClose(loop[i], grouped[i], 1e-5, i == 0 ? "output" : i == 1 ? "input gradient" : $"weight gradient {i - 2}");
    }

    [Fact]
    public void Use_FollowsTheSetting_AutoIsOffOnTheCpu_AndAnUnsetKeyIsNotWritten()
    {
        Assert.DoesNotContain("grouped_experts", Orchestrator.Kernels.Configuration.ConfigLoader.ToJson(TinyModels.Micro()), StringComparison.Ordinal);
        Assert.Contains("\"grouped_experts\": \"on\"", Orchestrator.Kernels.Configuration.ConfigLoader.ToJson(TinyModels.Micro() with { GroupedExperts = "on" }), StringComparison.Ordinal);
        using var x = zeros(2, 2);
        Assert.True(GroupedExperts.Use("on", x));
        Assert.False(GroupedExperts.Use("off", x));
        Assert.False(GroupedExperts.Use("auto", x));
        Assert.False(GroupedExperts.Use(null, x));
        Assert.Throws<ArgumentException>(() => GroupedExperts.Use("yes", x));
    }

    [Fact]
    public void Training_WithGroupedExperts_FollowsThePerExpertLoop()
    {
        static float[] Losses(string grouped)
        {
            var training = TinyModels.MicroTraining;
            var model = TinyModels.Micro() with { GroupedExperts = grouped };
            using var trainer = new Trainer(model, training, new PatternBatchSource(257, training.MicroBatchSize, training.SequenceLength + 2), 3);
            return Enumerable.Range(0, 3).Select(_ => (float)trainer.TrainStep().Loss).ToArray();
        }

        var loop = Losses("off");
        var grouped = Losses("on");
        Assert.Equal(loop[0], grouped[0], loop[0] * 1e-5f);
        for (var i = 1; i < loop.Length; i++) Assert.Equal(loop[i], grouped[i], loop[i] * 1e-4f);
    }
}
