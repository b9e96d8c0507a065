using System.Text.Encodings.Web;
using System.Text.Json;
using Jobkeeper.Json;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// The context the API writes with: <see cref="JobkeeperJsonContext"/> with relaxed escaping, so that
/// quotes, '+' and non-ASCII text stay readable in responses (HTML-sensitive escaping is for pages).
/// </summary>
internal static class ApiJson
{
    public static JobkeeperJsonContext Context { get; } = new(new JsonSerializerOptions(JobkeeperJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
