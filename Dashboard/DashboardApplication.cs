using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Dashboard.Pages;
using Orchestrator.Dashboard.Security;
using Orleans.Dashboard;

namespace Orchestrator.Dashboard;

/// <summary>
/// Mounts the dashboard in an ASP.NET Core host that is also an Orleans silo or client (it needs
/// <see cref="IGrainFactory"/> and the store interfaces, <see cref="Grains.Storage.IJobStore"/>,
/// <see cref="Grains.Storage.IMetricStore"/> and <see cref="Grains.Storage.ICheckpointIndex"/>): register with
/// <see cref="AddOrchestratorDashboard"/>, then <see cref="UseOrchestratorDashboard"/> on the built app.
/// The silo (or client) must also call Orleans' <c>AddDashboard()</c> for the <c>/orleans</c> pages.
/// </summary>
public static class DashboardApplication
{
    /// <summary>Registers authentication, antiforgery, OpenAPI and the dashboard's services.</summary>
    public static IServiceCollection AddOrchestratorDashboard(this IServiceCollection services, Action<DashboardOptions> configure)
    {
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section);
        services.Configure(configure);
        services.AddDashboardAuthentication();
        // Sign-in cookies and antiforgery tokens are sealed with keys kept in memory: nothing is written
        // to disk, and a restarted silo asks its users to sign in again.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Orchestrator dashboard API";
            document.Info.Description = "Every route needs `Authorization: Bearer <token>` (or the browser's sign-in cookie). Errors are `{error, field, message}`.";
            return Task.CompletedTask;
        }));
        services.AddSingleton<ClusterQueries>();
        services.AddSingleton<JobSubmission>();
        return services;
    }

    /// <summary>Adds the middleware and maps every route: pages, <c>/api</c>, <c>/openapi/v1.json</c>, <c>/orleans</c>.</summary>
    public static WebApplication UseOrchestratorDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseDashboardCsrf();
        app.MapDashboardPages();
        app.MapDashboardApi();
        app.MapOpenApi("/openapi/{documentName}.json").RequireAuthorization();
        app.MapOrleansDashboard("/orleans").RequireAuthorization();
        return app;
    }
}
