using System.Collections;
using System.Reflection;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training;

/// <summary>Tests that change libtorch's process-wide default device: they run alone, never beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultDeviceCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "libtorch default device";
}

/// <summary>
/// Ranks of one process train on different GPUs, so the trainer must never create a tensor on libtorch's
/// process-wide default device. Checked on the CPU: with the default device set to <c>meta</c> (tensors
/// without storage, whose values cannot be read) a tensor created there instead of on the trainer's
/// device fails the step loudly.
/// </summary>
[Collection(DefaultDeviceCollection.Name)]
public sealed class ExplicitDeviceTests
{
    private const int Steps = 2;
    private static readonly Device Meta = new(TorchSharp.DeviceType.META);

    public ExplicitDeviceTests() => Torch.Ready();

    private static T WithDefaultDevice<T>(Device device, Func<T> run)
    {
        set_default_device(device);
        try
        {
            return run();
        }
        finally
        {
            set_default_device(CPU);
        }
    }

    private static (double[] Losses, float[][] Biases) Train(ExpertParallelism? parallel = null, int rank = 0, int world = 1)
    {
        var training = TinyModels.MicroTraining with { MicroBatchSize = 4 / world };
        var window = training.SequenceLength + 2;
        using var trainer = new Trainer(TinyModels.Micro(), training, new PatternBatchSource(257, 4 / world, window, 7 + (ulong)rank), Steps, parallel, device: CPU);
        var losses = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep().Loss).ToArray();
        return (losses, trainer.Model.MoeLayers.Select(m => m.ExpertBias.cpu().data<float>().ToArray()).ToArray());
    }

    [Fact]
    public void Trainer_OnTheCpu_WhileTheDefaultDeviceIsMeta_TrainsTheSameBits()
    {
        var reference = Train();

        var underMeta = WithDefaultDevice(Meta, () => Train());

        Assert.Equal(reference.Losses, underMeta.Losses);
        for (var layer = 0; layer < reference.Biases.Length; layer++) Assert.Equal(reference.Biases[layer], underMeta.Biases[layer]);
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("mailbox")]
    public void ExpertParallelRanks_WhileTheDefaultDeviceIsMeta_TrainTheSameBits(string transport)
    {
        var reference = ExpertParallel(transport);

        var underMeta = WithDefaultDevice(Meta, () => ExpertParallel(transport));

        for (var rank = 0; rank < reference.Length; rank++)
        {
            Assert.Equal(reference[rank].Losses, underMeta[rank].Losses);
            for (var layer = 0; layer < reference[rank].Biases.Length; layer++) Assert.Equal(reference[rank].Biases[layer], underMeta[rank].Biases[layer]);
        }
    }

    [Fact]
    public void Model_BuiltForADevice_HoldsEveryTensorThere_ParametersBuffersFieldsAndPositionTables()
    {
        using var model = WithDefaultDevice(CPU, () => new DeepSeekModel(TinyModels.Micro(), 1, null, Meta));

        var tensors = HeldTensors(model).ToList();

        Assert.Equal(TorchSharp.DeviceType.META, model.Device.type);
        Assert.True(tensors.Count > model.parameters().Count(), $"found {tensors.Count} tensors by reflection: {string.Join(", ", tensors.Select(t => t.Path))}");
        Assert.All(model.parameters(), p => Assert.Equal(TorchSharp.DeviceType.META, p.device_type));
        Assert.All(model.buffers(), b => Assert.Equal(TorchSharp.DeviceType.META, b.device_type));
        Assert.All(tensors, t => Assert.True(t.Tensor.device_type == TorchSharp.DeviceType.META, $"{t.Path} is on {t.Tensor.device}"));
    }

    private static (double[] Losses, float[][] Biases)[] ExpertParallel(string transport)
    {
        const int world = 2;
        var mailboxes = Enumerable.Range(0, world).Select(_ => new RankMailbox()).ToArray();
        var group = new InProcessGroup(world);
        ICollective Collective(int rank) => transport == "in-process"
            ? group.Collective(rank)
            : new MailboxCollective(rank, world, mailboxes[rank], (to, message) =>
            {
                mailboxes[to].Deliver(message);
                return Task.CompletedTask;
            }, TimeSpan.FromMinutes(1));
        var ranks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            var parallel = new ExpertParallelism(Collective(rank), ExpertPlacement.Create(TinyModels.Micro().RoutedExperts, world));
            return Train(parallel, rank, world);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(ranks, TimeSpan.FromMinutes(3)), "expert-parallel ranks did not finish");
        return ranks.Select(t => t.Result).ToArray();
    }

    /// <summary>Every tensor the model reaches through the project's own fields (and the modules, arrays and lists they hold).</summary>
    private static IEnumerable<(string Path, Tensor Tensor)> HeldTensors(object root)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(string, object)>();
        pending.Push(("model", root));
        while (pending.Count > 0)
        {
            var (path, value) = pending.Pop();
            if (!seen.Add(value)) continue;
            if (value is Tensor tensor)
            {
                yield return (path, tensor);
                continue;
            }
            if (value is IEnumerable items and not string && (value.GetType().IsArray || value.GetType().Namespace?.StartsWith("Orchestrator", StringComparison.Ordinal) != true))
            {
                var i = 0;
                foreach (var item in items)
                    if (item is not null) pending.Push(($"{path}[{i++}]", item));
                continue;
            }
            for (var type = value.GetType(); type is not null && type.Namespace?.StartsWith("Orchestrator", StringComparison.Ordinal) == true; type = type.BaseType)
            {
                foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
                {
                    if (field.FieldType.IsPrimitive || field.FieldType.IsEnum || field.FieldType == typeof(string)) continue;
                    if (field.GetValue(value) is { } child) pending.Push(($"{path}.{field.Name}", child));
                }
            }
        }
    }
}
