using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Membership;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;

// Usage: SiloProcess <connection string> <cluster id> <silo name> <silo port> <gateway port>
// Prints "silo <address>" once it has joined, then runs until killed.
if (args.Length != 5)
{
    await Console.Error.WriteLineAsync("usage: SiloProcess <connection string> <cluster id> <silo name> <silo port> <gateway port>");
    return 2;
}

var host = Host.CreateDefaultBuilder()
    .ConfigureLogging(logging => logging.ClearProviders())
    .UseOrleans(silo => silo
        .UsePostgresClustering(options => options.ConnectionString = args[0])
        .UseFailureDetection()
        .Configure<ClusterOptions>(options =>
        {
            options.ClusterId = args[1];
            options.ServiceId = "orchestrator-tests";
        })
        .Configure<SiloOptions>(options => options.SiloName = args[2])
        .ConfigureEndpoints(
            IPAddress.Loopback, int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture)))
    .Build();
await host.StartAsync();
Console.WriteLine("silo " + host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString());
await host.WaitForShutdownAsync();
return 0;
