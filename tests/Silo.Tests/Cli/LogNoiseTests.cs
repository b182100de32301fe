using Orchestrator.Silo.Logging;
using Serilog.Events;
using Serilog.Parsing;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>Which of Orleans' lines the logs drop as noise a user cannot act on, and which they keep.</summary>
public sealed class LogNoiseTests
{
    private const string Watchdog = "Participant check thread has not completed for {TimeSinceLastTick}, potentially indicating lock contention or deadlock, CPU starvation, or another execution anomaly.";

    private static LogEvent Event(string template, params LogEventProperty[] properties) =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Warning, null, new MessageTemplateParser().Parse(template), properties);

    [Fact]
    public void TheWatchdogsFirstTick_ReportingTheTimeSinceBoot_IsDropped() =>
        Assert.True(Logs.IsNoise(Event(Watchdog, new LogEventProperty("TimeSinceLastTick", new ScalarValue(new TimeSpan(8, 10, 40))))));

    [Fact]
    public void ARealStallOfSeconds_IsKept() =>
        Assert.False(Logs.IsNoise(Event(Watchdog, new LogEventProperty("TimeSinceLastTick", new ScalarValue(TimeSpan.FromSeconds(12))))));

    [Fact]
    public void TheServerGcAdvice_IsDropped_AndOtherWarningsAreKept()
    {
        Assert.True(Logs.IsNoise(Event("Note: Silo not running with ServerGC turned on")));
        Assert.False(Logs.IsNoise(Event("Connection attempt to endpoint {Endpoint} failed", new LogEventProperty("Endpoint", new ScalarValue("S127.0.0.1:1")))));
    }
}
