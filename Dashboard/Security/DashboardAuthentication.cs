using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace Orchestrator.Dashboard.Security;

/// <summary>
/// Sign-in for the dashboard: a browser signs in once with a token on <c>/login</c> and gets a cookie;
/// an API client sends the token as a bearer header. Every endpoint requires one or the other
/// (the fallback policy); unauthenticated browser navigations are sent to the login page, every
/// other request gets a JSON 401.
/// </summary>
public static class DashboardAuthentication
{
    /// <summary>The policy scheme that picks the cookie or the bearer token.</summary>
    public const string Scheme = "Dashboard";

    /// <summary>The cookie's name.</summary>
    public const string CookieName = "orchestrator.auth";

    /// <summary>Registers the schemes, the fallback policy and antiforgery.</summary>
    public static IServiceCollection AddDashboardAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<TokenStore>();
        // The sign-in's lifetime is an option (DashboardOptions.SignInLifetime), read when the cookie scheme is built.
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<Microsoft.Extensions.Options.IOptions<DashboardOptions>>((o, dashboard) => o.ExpireTimeSpan = dashboard.Value.SignInLifetime);
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "cookie or bearer token", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? ApiTokenHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiTokenHandler>(ApiTokenHandler.SchemeName, null)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.LoginPath = "/login";
                o.SlidingExpiration = true;
                o.Events.OnRedirectToLogin = context => WantsPage(context.Request)
                    ? Redirect(context.Response, context.RedirectUri)
                    : ApiErrors.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, null,
                        "authentication required: sign in at /login or send Authorization: Bearer <token>");
                o.Events.OnRedirectToAccessDenied = context =>
                    ApiErrors.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden, null, "forbidden");
            });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().Build())
            .SetDefaultPolicy(new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().Build());
        services.AddAntiforgery(o =>
        {
            o.HeaderName = Csrf.HeaderName;
            o.FormFieldName = Csrf.FormFieldName;
            o.Cookie.Name = "orchestrator.csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        return services;
    }

    /// <summary>A browser navigating to a page (GET, HTML accepted, not the API): it is shown the login page instead.</summary>
    private static bool WantsPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && !request.Path.StartsWithSegments("/api")
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    private static Task Redirect(HttpResponse response, string uri)
    {
        response.StatusCode = StatusCodes.Status302Found;
        response.Headers.Location = uri;
        return Task.CompletedTask;
    }
}
