using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Orchestrator.Dashboard.Security;

namespace Orchestrator.Dashboard.Pages;

/// <summary>
/// The browser's pages: the cluster (<c>/</c>), the job form (<c>/submit</c>), a job (<c>/jobs/{id}</c>),
/// the login page, and the scripts and styles under <c>/assets</c>. Pages are static HTML with the
/// antiforgery token filled in; their scripts read everything through the REST API.
/// </summary>
public static class PageEndpoints
{
    private const string Csp =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

    /// <summary>Maps the pages and assets.</summary>
    public static IEndpointRouteBuilder MapDashboardPages(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", (HttpContext context) => Page(context, "index.html")).ExcludeFromDescription();
        routes.MapGet("/submit", (HttpContext context) => Page(context, "submit.html")).ExcludeFromDescription();
        routes.MapGet("/jobs/{id}", (HttpContext context, string id) => Page(context, "job.html")).ExcludeFromDescription();
        routes.MapGet("/assets/{**path}", (string path) => EmbeddedAssets.Read(path) is { } bytes
                ? Results.Bytes(bytes, EmbeddedAssets.ContentType(path))
                : Results.NotFound())
            .ExcludeFromDescription();

        routes.MapGet("/login", (HttpContext context) => Page(context, "login.html")).AllowAnonymous().ExcludeFromDescription();
        // The login page's own style and script: the only files served to someone not signed in.
        routes.MapGet("/login.css", () => Results.Bytes(EmbeddedAssets.Read("app.css")!, "text/css")).AllowAnonymous().ExcludeFromDescription();
        routes.MapGet("/login.js", () => Results.Bytes(EmbeddedAssets.Read("login.js")!, "text/javascript")).AllowAnonymous().ExcludeFromDescription();
        routes.MapPost("/login", SignIn).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
        routes.MapPost("/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect("/login");
        }).DisableAntiforgery().ExcludeFromDescription();
        return routes;
    }

    private static IResult Page(HttpContext context, string file)
    {
        var template = Encoding.UTF8.GetString(EmbeddedAssets.Read(file) ?? throw new InvalidOperationException($"page {file} is not embedded"));
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        var html = template.Replace("{{csrf}}", System.Net.WebUtility.HtmlEncode(tokens.RequestToken), StringComparison.Ordinal);
        context.Response.Headers.ContentSecurityPolicy = Csp;
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers.XFrameOptions = "DENY";
        context.Response.Headers.CacheControl = "no-store";
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private static async Task<IResult> SignIn(HttpContext context, TokenStore tokens)
    {
        var form = await context.Request.ReadFormAsync();
        var returnUrl = form["returnUrl"].ToString();
        if (string.IsNullOrEmpty(returnUrl) || !returnUrl.StartsWith('/') || returnUrl.StartsWith("//", StringComparison.Ordinal) || returnUrl.StartsWith("/\\", StringComparison.Ordinal))
            returnUrl = "/";
        if (!tokens.IsValid(form["token"].ToString()))
            return Results.Redirect("/login?failed=1&ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "dashboard-user")], CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
        return Results.Redirect(returnUrl);
    }

    private static T GetRequiredService<T>(this IServiceProvider services) where T : notnull =>
        (T)(services.GetService(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not registered"));
}
