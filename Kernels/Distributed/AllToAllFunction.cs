using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// All-to-all as an autograd function: forward sends rows to their ranks, backward sends the
/// gradients of the received rows back the same way in reverse, so the expert-parallel graph
/// differentiates like the single-process one.
/// </summary>
internal sealed class AllToAllFunction : autograd.SingleTensorFunction<AllToAllFunction>
{
    public override string Name => "AllToAll";

    public static Tensor Exchange(ICollective collective, Tensor rows, long[] sendCounts, long[] receiveCounts) =>
        apply(rows, collective, sendCounts, receiveCounts);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var rows = (Tensor)vars[0];
        var collective = (ICollective)vars[1];
        var send = (long[])vars[2];
        var receive = (long[])vars[3];
        ctx.save_data("collective", collective);
        ctx.save_data("send", send);
        ctx.save_data("receive", receive);
        return collective.AllToAll(rows, send, receive);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient)
    {
        var collective = (ICollective)ctx.get_data("collective");
        var send = (long[])ctx.get_data("send");
        var receive = (long[])ctx.get_data("receive");
        // The wrapper TorchSharp made for the gradient and the one returned are released after the backward
        // pass (BackwardTensors), not left to the finalizer.
        BackwardTensors.Keep(gradient);
        // One gradient per input of apply: the rows, then nothing for the three non-tensor arguments.
        try
        {
            using var contiguous = gradient.contiguous();
            return [BackwardTensors.Keep(collective.AllToAll(contiguous, receive, send)), null!, null!, null!];
        }
        catch (CollectiveAbortedException)
        {
            // A managed exception cannot cross libtorch's autograd engine. The group stays aborted,
            // so the rank's next collective (the gradient all-reduce) raises it after backward.
            return [BackwardTensors.Keep(full(send.Sum(), gradient.shape[1], Native.Scalars.Of(double.NaN), dtype: gradient.dtype, device: gradient.device)), null!, null!, null!];
        }
    }
}
