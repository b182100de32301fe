using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Silo.Cluster;
using Orchestrator.Silo.Tests.Telemetry;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Silo.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml, its Prometheus scrape config and the Grafana dashboard, checked offline (no Docker here):
/// parsed, their services, ports and volumes consistent with each other and with the silo's settings, and every
/// metric a panel queries one that the code exports (names read from the instruments: a renamed metric fails here).
/// </summary>
public sealed partial class DeployFilesTests
{
    private static readonly string Deploy = Path.Combine(RepositoryFiles.Root, "deploy");
    private static readonly string[] Silos = ["silo1", "silo2"];

    [Fact]
    public void Compose_HasTheDatabase_TwoSilosBuiltFromTheRepository_PrometheusAndGrafana()
    {
        var services = Map(Compose(), "services");

        Assert.Equal(["grafana", "postgres", "prometheus", "silo1", "silo2"], services.Children.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        foreach (var silo in Silos)
        {
            var build = Map(Service(silo), "build");
            var dockerfile = Path.GetFullPath(Path.Combine(Deploy, Text(build, "context"), Text(build, "dockerfile")));
            Assert.Equal(Path.Combine(Deploy, "Dockerfile"), dockerfile);
            Assert.Equal(RepositoryFiles.Root, Path.GetFullPath(Path.Combine(Deploy, Text(build, "context"))).TrimEnd('/'));
            Assert.Equal(["silo"], Sequence(Service(silo), "command"));
        }

        var docker = File.ReadAllText(Path.Combine(Deploy, "Dockerfile"));
        Assert.Contains("dotnet publish Silo", docker, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/orchestrator.dll\"]", docker, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_SiloSettings_AreOnesTheSiloReads_AndEachSiloHasItsOwnAddressOnTheClusterNetwork()
    {
        var properties = typeof(SiloSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var addresses = new List<string>();
        foreach (var silo in Silos)
        {
            var environment = Environment(silo);
            foreach (var key in environment.Keys)
            {
                Assert.StartsWith("ORCHESTRATOR__", key, StringComparison.Ordinal);
                var setting = key["ORCHESTRATOR__".Length..].Split("__")[0];
                Assert.True(properties.Contains(setting), $"{silo}: {key} binds to no SiloSettings property");
            }
            Assert.Equal(Text(Map(Map(Service(silo), "networks"), "cluster"), "ipv4_address"), environment["ORCHESTRATOR__ADDRESS"]);
            addresses.Add(environment["ORCHESTRATOR__ADDRESS"]);
            Assert.True(int.TryParse(environment["ORCHESTRATOR__METRICSPORT"], out _), $"{silo}: ORCHESTRATOR__METRICSPORT");
        }

        Assert.Equal(addresses.Count, addresses.Distinct().Count());
        Assert.NotEqual(Environment("silo1")["ORCHESTRATOR__NODE"], Environment("silo2")["ORCHESTRATOR__NODE"]);
    }

    [Fact]
    public void Compose_PublishesTheDashboardAndEverySilosMetricsPort_OnDistinctHostPorts()
    {
        var published = new List<int>();
        foreach (var silo in Silos)
        {
            var ports = Sequence(Service(silo), "ports").Select(p => p.Split(':')).ToDictionary(p => int.Parse(p[1]), p => int.Parse(p[0]));
            var metrics = int.Parse(Environment(silo)["ORCHESTRATOR__METRICSPORT"]);
            Assert.True(ports.ContainsKey(metrics), $"{silo} does not publish its metrics port {metrics}");
            published.AddRange(ports.Values);
        }

        var dashboard = new Uri(Environment("silo1")["ORCHESTRATOR__DASHBOARDURL"]);
        Assert.Contains($"{dashboard.Port}:{dashboard.Port}", Sequence(Service("silo1"), "ports"));
        Assert.Equal("0.0.0.0", dashboard.Host);
        Assert.Contains("9090:9090", Sequence(Service("prometheus"), "ports"));
        Assert.Contains("3000:3000", Sequence(Service("grafana"), "ports"));
        Assert.Equal(published.Count, published.Distinct().Count());
    }

    [Fact]
    public void Compose_KeepsTheDatabaseOnAVolume_AndSharesOneCheckpointVolumeAtTheSilosStorageRoot()
    {
        var volumes = Map(Compose(), "volumes").Children.Keys.Select(k => k.ToString()).ToHashSet(StringComparer.Ordinal);

        Assert.Contains("db:/var/lib/postgresql/data", Sequence(Service("postgres"), "volumes"));
        foreach (var silo in Silos)
            Assert.Contains($"checkpoints:{Environment(silo)["ORCHESTRATOR__STORAGE"]}", Sequence(Service(silo), "volumes"));
        foreach (var service in Map(Compose(), "services").Children.Keys.Select(k => k.ToString()))
            foreach (var mount in Sequence(Service(service), "volumes"))
            {
                var source = mount.Split(':')[0];
                if (source.StartsWith('.')) Assert.True(File.Exists(Path.Combine(Deploy, source)) || Directory.Exists(Path.Combine(Deploy, source)), $"{service} mounts {source}, which is not in deploy/");
                else Assert.True(volumes.Contains(source), $"{service} mounts the undeclared volume {source}");
            }
    }

    [Fact]
    public void Prometheus_ScrapesEverySilosMetricsPort_KeepingTheJobLabel()
    {
        var config = Load(Path.Combine(Deploy, "prometheus", "prometheus.yml"));
        var job = (YamlMappingNode)((YamlSequenceNode)config.Children["scrape_configs"]).Children.Single();
        var targets = ((YamlSequenceNode)job["static_configs"]).Children.Cast<YamlMappingNode>().SelectMany(c => ((YamlSequenceNode)c["targets"]).Children.Select(t => t.ToString()));

        Assert.Equal(Silos.Select(s => $"{s}:{Environment(s)["ORCHESTRATOR__METRICSPORT"]}"), targets.Order(StringComparer.Ordinal));
        Assert.Equal("/metrics", Text(job, "metrics_path"));
        Assert.Equal("true", Text(job, "honor_labels"));
        Assert.Contains("./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro", Sequence(Service("prometheus"), "volumes"));
    }

    [Fact]
    public void Grafana_HasThePanelsAnOperatorNeeds_OnTheProvisionedDataSource()
    {
        var dashboard = Dashboard();
        var titles = dashboard["panels"]!.AsArray().Select(p => (string)p!["title"]!).ToList();
        var source = Load(Path.Combine(Deploy, "grafana", "provisioning", "datasources", "prometheus.yaml"));
        var uid = Text((YamlMappingNode)((YamlSequenceNode)source["datasources"]).Children.Single(), "uid");

        foreach (var needed in new[] { "Step time", "Tokens/s", "Loss", "MaxVio", "Expert load", "Checkpoint stall", "Recovery" })
            Assert.Contains(needed, titles);
        Assert.Equal("heatmap", (string)dashboard["panels"]!.AsArray().Single(p => (string)p!["title"]! == "Expert load")!["type"]!);
        Assert.All(dashboard["panels"]!.AsArray(), p => Assert.Equal(uid, (string)p!["datasource"]!["uid"]!));
        Assert.Contains("./grafana/orchestrator.json:/var/lib/grafana/dashboards/orchestrator.json:ro", Sequence(Service("grafana"), "volumes"));
    }

    [Fact]
    public void Grafana_QueriesOnlyMetricsTheCodeExports()
    {
        var queried = Dashboard()["panels"]!.AsArray()
            .SelectMany(p => p!["targets"]!.AsArray().Select(t => (Panel: (string)p["title"]!, Expr: (string)t!["expr"]!)))
            .Append((Panel: "templating", Expr: (string)Dashboard()["templating"]!["list"]![0]!["definition"]!))
            .SelectMany(q => MetricName().Matches(q.Expr).Select(m => (q.Panel, Name: m.Value)))
            .ToList();

        Assert.Contains(queried, q => q.Name.StartsWith("orchestrator_", StringComparison.Ordinal));
        Assert.All(queried, q => Assert.True(
            ExportedMetrics.SeriesNames.Contains(q.Name) || ExportedMetrics.OtherSeries.Contains(q.Name),
            $"panel '{q.Panel}' queries {q.Name}, which no instrument exports (exported: {string.Join(", ", ExportedMetrics.SeriesNames.Order(StringComparer.Ordinal))})"));
        // The names are the instruments' as the exporter writes them; each panel group's instrument is among them.
        foreach (var instrument in new[] { "orchestrator.step.duration", "orchestrator.step.loss", "orchestrator.step.throughput", "orchestrator.expert.max_violation", "orchestrator.expert.load", "orchestrator.checkpoint.stall", "orchestrator.recovery.duration" })
            Assert.Contains(queried, q => ExportedMetrics.Of(instrument).Series.Contains(q.Name));
    }

    [GeneratedRegex(@"\b(?:orchestrator|orleans|dotnet)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    private static JsonNode Dashboard() => JsonNode.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "orchestrator.json")))!;

    private static YamlMappingNode Compose() => Load(Path.Combine(Deploy, "compose.yaml"));

    private static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(path));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    /// <summary>A service, with what it takes from a merged anchor (<c>&lt;&lt;: *silo</c>) under its own keys.</summary>
    private static YamlMappingNode Service(string name)
    {
        var service = Map(Map(Compose(), "services"), name);
        if (!service.Children.TryGetValue(new YamlScalarNode("<<"), out var merged)) return service;
        var whole = new YamlMappingNode();
        foreach (var (key, value) in ((YamlMappingNode)merged).Children) whole.Children[key] = value;
        foreach (var (key, value) in service.Children.Where(c => c.Key.ToString() != "<<")) whole.Children[key] = value;
        return whole;
    }

    private static Dictionary<string, string> Environment(string silo) =>
        Map(Service(silo), "environment").Children.ToDictionary(c => c.Key.ToString(), c => c.Value.ToString(), StringComparer.Ordinal);

    private static YamlMappingNode Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? (YamlMappingNode)child : throw new KeyNotFoundException($"no '{key}' in {node.Start}");

    private static string Text(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child.ToString() : throw new KeyNotFoundException($"no '{key}' in {node.Start}");

    private static List<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? ((YamlSequenceNode)child).Children.Select(c => c.ToString()).ToList() : [];
}
