using System.Collections.Concurrent;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// One dedicated thread for one device slot: training steps run here, never on the Orleans scheduler,
/// so grain calls stay quick (Orleans' response timeout is 30 s) and one device runs one thing at a time.
/// </summary>
public sealed class DeviceExecutor : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;
    private readonly TimeSpan _stopWait;

    /// <summary>Starts the thread of <paramref name="device"/>; disposing waits up to <paramref name="stopWait"/> for its work to end.</summary>
    public DeviceExecutor(string device, TimeSpan stopWait)
    {
        _stopWait = stopWait;
        Device = device;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"device {device}" };
        _thread.Start();
    }

    /// <summary>The device id, e.g. <c>cpu:0</c>.</summary>
    public string Device { get; }

    /// <summary>Queues <paramref name="work"/>; the task ends when it has run (faulted if it threw).</summary>
    public Task Run(Action work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                work();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join(_stopWait);
        _work.Dispose();
    }

    private void Loop()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }
}
