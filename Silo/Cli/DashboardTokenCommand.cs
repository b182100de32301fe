using System.CommandLine;
using Orchestrator.Dashboard.Security;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator dashboard-token</c>: makes a new dashboard API token and the hash a silo's configuration holds.</summary>
public static class DashboardTokenCommand
{
    public static Command Create()
    {
        var command = new Command("dashboard-token",
            "Print a new dashboard API token and its hash: give the token to users, put the hash in Orchestrator:DashboardTokenHashes (or ORCHESTRATOR__DASHBOARDTOKENHASHES__0)");
        command.SetAction(_ =>
        {
            var token = ApiTokens.Generate();
            Console.WriteLine($"token: {token}");
            Console.WriteLine($"hash:  {ApiTokens.Hash(token)}");
            return 0;
        });
        return command;
    }
}
