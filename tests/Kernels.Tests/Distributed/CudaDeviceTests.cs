using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>Reading a rank's CUDA device index from its slot name.</summary>
public sealed class CudaDeviceTests
{
    [Theory]
    [InlineData("cuda:0", 0)]
    [InlineData("cuda:7", 7)]
    [InlineData("cpu:0", null)]
    [InlineData("cpu:12", null)]
    public void IndexOf_ASlot_IsItsCudaIndex_OrNullForACpuSlot(string slot, int? expected) =>
        Assert.Equal(expected, CudaDevice.IndexOf(slot));

    [Theory]
    [InlineData("cuda:")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void IndexOf_ACudaSlotWithoutAnIndex_IsRefused_NamingIt(string slot) =>
        Assert.Contains(slot, Assert.Throws<ArgumentException>(() => CudaDevice.IndexOf(slot)).Message, StringComparison.Ordinal);
}
