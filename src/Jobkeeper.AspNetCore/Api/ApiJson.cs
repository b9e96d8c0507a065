using System.Text.Encodings.Web;
using System.Text.Json;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// The context the API writes with: <see cref="ApiJsonContext"/> with relaxed escaping, so that
/// quotes, '+' and non-ASCII text stay readable in responses (HTML-sensitive escaping is for pages).
/// </summary>
internal static class ApiJson
{
    public static ApiJsonContext Context { get; } = new(new JsonSerializerOptions(ApiJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
