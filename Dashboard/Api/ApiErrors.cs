using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Grains;

namespace Orchestrator.Dashboard;

/// <summary>The API's error body, <c>{"error": "field: reason", "field": "field", "message": "reason"}</c>, and how it is written.</summary>
/// <param name="Error">The whole message.</param>
/// <param name="Field">The field of the job spec (or request) at fault, e.g. <c>parallel.ep</c>; null when none is.</param>
/// <param name="Message">What is wrong with it.</param>
public sealed record ApiError(string Error, string? Field, string Message);

/// <summary>Builds and writes <see cref="ApiError"/>s.</summary>
public static partial class ApiErrors
{
    [GeneratedRegex(@"^(?<field>\(root\)|[A-Za-z_][A-Za-z0-9_.\-]*): (?<reason>.+)$", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex FieldMessage();

    /// <summary>An error for a message of the form <c>field: reason</c> (how every job spec error is written).</summary>
    public static ApiError FromSpec(JobSpecException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var match = FieldMessage().Match(exception.Message);
        return match.Success
            ? new ApiError(exception.Message, match.Groups["field"].Value, match.Groups["reason"].Value)
            : new ApiError(exception.Message, null, exception.Message);
    }

    /// <summary>A 400/404/… result carrying an <see cref="ApiError"/>.</summary>
    public static IResult Result(int status, string? field, string message) =>
        Results.Json(new ApiError(field is null ? message : $"{field}: {message}", field, message), statusCode: status);

    /// <summary>Writes an <see cref="ApiError"/> directly (authentication and antiforgery failures).</summary>
    public static Task WriteAsync(HttpContext context, int status, string? field, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new ApiError(field is null ? message : $"{field}: {message}", field, message);
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
