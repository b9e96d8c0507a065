using System.Net;
using Jobkeeper.AspNetCore.Security;

namespace Jobkeeper.Server;

/// <summary>
/// Access control of <c>jobkeeper serve</c>: API keys with roles (<c>Jobkeeper:ApiKeys</c>), the loopback-only rule
/// without keys, the per-key rate limit (<c>Jobkeeper:RateLimit</c>) and CORS (<c>Jobkeeper:Cors:Origins</c>).
/// </summary>
internal static class ServerSecurity
{
    private const string CorsPolicy = "Jobkeeper.Cors";

    /// <summary>Registers the services; throws <see cref="InvalidOperationException"/> (exit code 2) for a bad or unsafe configuration.</summary>
    public static void Add(WebApplicationBuilder builder, IEnumerable<string> urls)
    {
        var section = builder.Configuration.GetSection(ServerSettings.Section);
        var keys = section.GetSection("ApiKeys").Get<List<ApiKeyEntry>>() ?? [];
        if (keys.Count == 0)
        {
            var exposed = urls.Where(u => !IsLoopback(u)).ToList();
            if (exposed.Count > 0)
            {
                throw new InvalidOperationException(
                    $"refusing to listen on {string.Join(", ", exposed)} without API keys: with no keys configured the API is open, "
                    + "so it is served on loopback addresses only (127.0.0.1, [::1], localhost). Add a key first, e.g. "
                    + "'jobkeeper keys add --name ops --role admin' (it prints the key once and stores its hash under Jobkeeper:ApiKeys "
                    + "in ./appsettings.json), or listen on http://127.0.0.1:PORT.");
            }
        }

        builder.Services.AddJobkeeperApiKeys(keys);

        var limit = section.GetSection("RateLimit").Get<JobkeeperRateLimitOptions>();
        if (limit is { PermitsPerSecond: > 0 })
        {
            builder.Services.AddJobkeeperRateLimiting(limit);
        }

        var origins = section.GetSection("Cors:Origins").Get<string[]>() ?? [];
        if (origins.Length > 0)
        {
            builder.Services.AddCors(o => o.AddPolicy(CorsPolicy, p => p.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod()
                .WithExposedHeaders("ETag", "Location", "Retry-After", "WWW-Authenticate")));
        }
    }

    /// <summary>The middleware, in order: CORS (only when configured), authentication, rate limit (only when configured), authorization.</summary>
    public static void Use(WebApplication app)
    {
        var section = app.Configuration.GetSection(ServerSettings.Section);
        if ((section.GetSection("Cors:Origins").Get<string[]>() ?? []).Length > 0)
        {
            app.UseCors(CorsPolicy);
        }

        // Authentication and authorization, with the API-key fast path of Jobkeeper's routes; the rate limit between the two
        // sees the caller (a partition per key) and also limits requests whose key is refused.
        var limited = section.GetSection("RateLimit").Get<JobkeeperRateLimitOptions>() is { PermitsPerSecond: > 0 };
        app.UseJobkeeperApiKeys(limited ? between => between.UseRateLimiter() : null);
    }

    /// <summary>True for an address only this machine can reach: localhost or a loopback IP. Wildcards (*, +, 0.0.0.0, [::]) are not.</summary>
    public static bool IsLoopback(string url)
    {
        var rest = url.Trim();
        var scheme = rest.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            rest = rest[(scheme + 3)..];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            rest = rest[..slash];
        }

        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            host = close > 0 ? rest[1..close] : rest;
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            host = colon >= 0 ? rest[..colon] : rest;
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }
}
