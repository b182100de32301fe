using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Dashboard.Tests.Support;

namespace Orchestrator.Dashboard.Tests.Api;

/// <summary>Every route the silo's web host maps, read from its endpoint data source, refuses a caller without a valid token.</summary>
[Collection(SiloCollection.Name)]
public sealed class ApiAuthenticationTests(DashboardSilo silo)
{
    // The login page and what it loads: the only routes open to someone not signed in.
    private static readonly string[] Anonymous = ["GET /login", "POST /login", "GET /login.css", "GET /login.js"];

    [Fact]
    public async Task EveryRoute_WithoutAToken_Is401_AndOnlyTheLoginPageIsOpen()
    {
        var routes = Routes();
        Assert.True(routes.Count >= 25, $"only {routes.Count} routes found");
        Assert.Contains(routes, r => r.Path.StartsWith("/orleans", StringComparison.Ordinal));
        Assert.Contains(routes, r => r.Path == "/openapi/v1.json");

        using var anonymous = silo.Client(authenticated: false);
        using var forged = silo.Client(authenticated: false);
        forged.DefaultRequestHeaders.Authorization = new("Bearer", "not-" + silo.Token);
        var open = new List<string>();
        foreach (var (method, path, allowsAnonymous) in routes)
        {
            var name = $"{method} {path}";
            if (allowsAnonymous)
            {
                open.Add(name);
                continue;
            }

            foreach (var client in new[] { anonymous, forged })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name} answered {(int)response.StatusCode} without a valid token");
                Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            }
        }

        Assert.Equal(Anonymous.Order(), open.Distinct().Order());
    }

    [Fact]
    public async Task EveryApiRoute_WithTheToken_IsNot401()
    {
        using var client = silo.Client();
        foreach (var (method, path, _) in Routes().Where(r => r.Method == "GET" && r.Path.StartsWith("/api", StringComparison.Ordinal) && !r.Path.EndsWith("/stream", StringComparison.Ordinal)))
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.InternalServerError),
                $"{method} {path} answered {(int)response.StatusCode} with the token");
        }
    }

    [Fact]
    public async Task ABrowserNavigation_IsSentToTheLoginPage()
    {
        using var client = silo.Client(authenticated: false);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/jobs/some-job");
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/login", response.Headers.Location!.AbsolutePath);
        Assert.Contains("ReturnUrl=%2Fjobs%2Fsome-job", response.Headers.Location.Query, StringComparison.Ordinal);
    }

    /// <summary>Every (method, concrete path) the host serves, with parameters filled in.</summary>
    private List<(string Method, string Path, bool AllowsAnonymous)> Routes()
    {
        var endpoints = silo.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        var routes = new List<(string, string, bool)>();
        foreach (var endpoint in endpoints)
        {
            var path = Concrete(endpoint.RoutePattern);
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST"];
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            routes.AddRange(methods.Select(m => (m, path, anonymous)));
        }

        return routes;
    }

    private static string Concrete(RoutePattern pattern)
    {
        var segments = pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart parameter => parameter.Name switch
            {
                "id" => "some-job",
                "name" => "tiny",
                "documentName" => "v1",
                "path" => "app.css",
                _ => "x",
            },
            _ => string.Empty,
        })));
        return "/" + string.Join('/', segments);
    }
}
