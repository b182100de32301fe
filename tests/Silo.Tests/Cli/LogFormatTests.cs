using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>
/// The executable's log format: compact JSON lines when standard error is not a terminal (here it is a pipe), the
/// message rendered so its text stays searchable and the events of a job's work carrying its id and epoch; text with
/// <c>--log-format text</c>; a bad <c>--log-format</c> refused naming the option. Command output is unchanged.
/// </summary>
public sealed class LogFormatTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("orchestrator-logs-").FullName;

    [Fact]
    public async Task Redirected_logs_are_json_lines_and_a_jobs_events_carry_its_id_and_epoch()
    {
        var result = await CliProcess.Run("demo", "--steps", "2", "--seconds", "60", "--no-dashboard", "--work-dir", _work);
        Assert.True(result.ExitCode == 0, result.All);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        var events = lines.Select(line => JsonNode.Parse(line)!.AsObject()).ToList(); // every line is one JSON object
        Assert.All(events, e => Assert.True(e.ContainsKey("@t") && e.ContainsKey("@m"), e.ToJsonString()));

        var job = Text(Assert.Single(events, e => Text(e, "@m")!.StartsWith("Submitting job", StringComparison.Ordinal)), "Job");
        var ranks = events.Where(e => Text(e, "SourceContext") == "Orchestrator.Grains.Ranks.RankGrain").ToList();
        Assert.NotEmpty(ranks);
        Assert.All(ranks, e => Assert.Equal((job, "1"), (Text(e, "Job"), Text(e, "Epoch"))));
        var committed = Assert.Single(events, e => Text(e, "SourceContext") == "Orchestrator.Grains.Checkpoints.CheckpointCoordinatorGrain" && Text(e, "@m")!.Contains("committed", StringComparison.Ordinal));
        Assert.Equal((job, "1"), (Text(committed, "Job"), Text(committed, "Epoch")));
        // The rendered message is the text line's message (strings unquoted), so a search for what the text log says finds it.
        Assert.Contains(events, e => Text(e, "@m")!.Contains("data plane: none (one rank", StringComparison.Ordinal));
        Assert.Contains("Last checkpoint: ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Output.Split('\n'), line => line.StartsWith("{\"@t\"", StringComparison.Ordinal)); // logs never on standard output
    }

    [Fact]
    public async Task Log_format_text_writes_lines_for_a_person_even_when_redirected()
    {
        var result = await CliProcess.Run("demo", "--steps", "1", "--seconds", "60", "--no-dashboard", "--work-dir", _work, "--log-format", "text");
        Assert.True(result.ExitCode == 0, result.All);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, line => Assert.Matches(@"^\[\d\d:\d\d:\d\d [A-Z]{3}\] |^\s", line)); // a line per event, or an exception's
        Assert.Contains(lines, line => line.Contains(" INF] Done: 1 steps this run", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("xml")]
    [InlineData("JSON")]
    public async Task A_bad_log_format_is_refused_naming_the_option(string format)
    {
        var result = await CliProcess.Run(TimeSpan.FromMinutes(1), "dashboard-token", "--log-format", format);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"--log-format: expected text or json (got \"{format}\")", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("token:", result.Output, StringComparison.Ordinal); // refused before the command ran
    }

    private static string? Text(JsonObject e, string name) => e[name] switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        var node => node.ToJsonString(),
    };

    /// <inheritdoc />
    public void Dispose() => Directory.Delete(_work, recursive: true);
}
