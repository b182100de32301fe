using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Orchestrator.Dashboard.Security;

/// <summary>
/// Cross-site request forgery protection: every state-changing request that a browser could send with
/// its cookie (everything but a bearer-token request) must carry the antiforgery token, as a form field
/// (login form) or as the <see cref="HeaderName"/> header (the UI's API calls).
/// </summary>
public static class Csrf
{
    /// <summary>The header the UI's scripts send the token in.</summary>
    public const string HeaderName = "X-CSRF-TOKEN";

    /// <summary>The hidden form field of HTML forms.</summary>
    public const string FormFieldName = "__csrf";

    /// <summary>Validates the antiforgery token of unsafe requests that do not carry a bearer token.</summary>
    public static IApplicationBuilder UseDashboardCsrf(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var method = context.Request.Method;
        var safe = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);
        var bearer = context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);
        // Unauthenticated requests to protected endpoints get their 401 from authorization first.
        var cookieUser = context.User.Identity?.AuthenticationType == CookieAuthenticationDefaults.AuthenticationScheme;
        var login = context.Request.Path.Equals("/login", StringComparison.Ordinal);
        if (!safe && !bearer && (cookieUser || login))
        {
            try
            {
                await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context);
            }
            catch (AntiforgeryValidationException)
            {
                await ApiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, Csrf.HeaderName,
                    "the antiforgery token is missing or invalid: reload the page");
                return;
            }
        }

        await next(context);
    });
}
