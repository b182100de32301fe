using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>The loss of one forward pass: Total = Main + λ·mean(Mtp) + Balance, with grad on Total.</summary>
public sealed record ModelLoss(Tensor Total, Tensor Main, IReadOnlyList<Tensor> Mtp, Tensor Balance) : IDisposable
{
    public void Dispose()
    {
        Total.Dispose();
        Main.Dispose();
        foreach (var t in Mtp) t.Dispose();
        Balance.Dispose();
    }
}
