using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Dashboard.Security;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Native;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Dashboard.Tests.Support;

/// <summary>
/// A real silo in this process, as <c>orchestrator demo</c> builds it (localhost clustering, SQLite
/// index, node <c>local</c> with two CPU slots: a pipeline job needs two), serving the dashboard on a free loopback port with one
/// API token. Shared by the API and browser tests (one collection, so they take turns).
/// </summary>
public sealed class DashboardSilo : IAsyncLifetime
{
    /// <summary>The API token the dashboard accepts (only its hash is configured).</summary>
    public string Token { get; } = ApiTokens.Generate();

    /// <summary>Folder of the index, data and checkpoints.</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("orchestrator-dashboard-").FullName;

    /// <summary>A small byte-token dataset.</summary>
    public string Data { get; private set; } = string.Empty;

    /// <summary>The dashboard's address, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The silo host (the web app with Orleans in it).</summary>
    public IHost Host { get; private set; } = null!;

    /// <summary>The silo's index.</summary>
    public SqliteMetadataStore Store { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        LibTorchRuntime.Initialize();
        Data = TinyJob.Data(Root);
        Store = await SqliteMetadataStore.OpenAsync(Path.Combine(Root, "index.db"));
        var ports = Ports.Free(3);
        BaseUrl = new Uri($"http://127.0.0.1:{ports[2]}/");
        var node = new NodeOptions { Name = "local", Devices = ["cpu:0", "cpu:1"], StorageRoot = Path.Combine(Root, "checkpoints") };
        var dashboard = DashboardHosting.For(BaseUrl.ToString().TrimEnd('/'), [ApiTokens.Hash(Token)], Data);
        Host = SiloHost.ForDemo(node, Store, ports[0], ports[1], dashboard);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Host.StartAsync(timeout.Token);
        await Host.Services.GetRequiredService<NodeRegistrar>().Registered.WaitAsync(timeout.Token);
    }

    /// <summary>A client of the dashboard: with the bearer token, or anonymous; never follows redirects.</summary>
    public HttpClient Client(bool authenticated = true, CookieContainer? cookies = null)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer() };
        var client = new HttpClient(handler) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (authenticated) client.DefaultRequestHeaders.Authorization = new("Bearer", Token);
        return client;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await Host.StopAsync(TimeSpan.FromSeconds(10));
        Host.Dispose();
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A rank's checkpoint writer may still hold a file for a moment; the temp folder is left behind.
        }
    }
}

/// <summary>The tests that share one <see cref="DashboardSilo"/>.</summary>
[CollectionDefinition(Name)]
public sealed class SiloCollection : ICollectionFixture<DashboardSilo>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "dashboard silo";
}
