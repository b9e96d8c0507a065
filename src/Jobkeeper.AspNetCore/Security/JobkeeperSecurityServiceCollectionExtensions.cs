using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Jobkeeper.AspNetCore.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Per-client rate limit of the <c>/api</c> routes: a token bucket per API key (per remote address in open mode).</summary>
public sealed class JobkeeperRateLimitOptions
{
    /// <summary>Requests per second each key may make on average; 0 (the default) turns the limit off.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>How many requests a key may make at once above the average; default: <see cref="PermitsPerSecond"/>.</summary>
    public int? Burst { get; set; }
}

public static class JobkeeperSecurityServiceCollectionExtensions
{
    /// <summary>
    /// Makes <c>MapJobkeeper()</c> require a role per route (policies <c>Jobkeeper.read</c>, <c>Jobkeeper.submit</c>, …),
    /// satisfied by a role claim of that name or <c>admin</c>, authenticated with <paramref name="authenticationSchemes"/>
    /// (the default scheme when none). Apps with their own authentication call only this.
    /// </summary>
    public static IServiceCollection AddJobkeeperAuthorization(this IServiceCollection services, params string[] authenticationSchemes)
    {
        services.AddSingleton<JobkeeperAuthorizationMarker>();
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<AuthenticationOptions>>((o, authentication) =>
        {
            // The authentication middleware has already run the default scheme for every request. Naming it in the policy
            // would make the authorization middleware authenticate again and merge the two principals on every request.
            var schemes = authenticationSchemes.Where(s => !string.Equals(s, authentication.Value.DefaultScheme, StringComparison.Ordinal)).ToArray();
            foreach (var role in JobkeeperRoles.All)
            {
                o.AddPolicy(JobkeeperRoles.PolicyName(role), policy =>
                {
                    if (schemes.Length > 0)
                    {
                        policy.AddAuthenticationSchemes(schemes);
                    }

                    policy.AddRequirements(new JobkeeperRoleRequirement(role));
                });
            }
        });
        return services;
    }

    /// <summary>
    /// API keys with roles (<see cref="ApiKeyAuthenticationHandler"/>) as the default authentication scheme, and
    /// the role policies of <see cref="AddJobkeeperAuthorization"/> on it. With no keys the API is open.
    /// </summary>
    public static IServiceCollection AddJobkeeperApiKeys(this IServiceCollection services, IEnumerable<ApiKeyEntry> keys)
    {
        var list = keys.ToList();
        ApiKeyHash.Validate(list);
        // The core services only: the full AddAuthentication also brings data protection (a key ring on disk) that API keys never use.
        services.AddWebEncoders();
        // Both answer as ASP.NET Core's own do, without new objects per request (each class says what that saved); an app's own
        // registration made before this one wins.
        services.TryAddSingleton<IClaimsTransformation, JobkeeperClaimsTransformation>();
        services.TryAddSingleton<IAuthenticationSchemeProvider, CachingAuthenticationSchemeProvider>();
        services.AddAuthenticationCore(o => o.DefaultScheme ??= ApiKeyAuthenticationHandler.SchemeName);
        new AuthenticationBuilder(services)
            .AddScheme<ApiKeyOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, o => o.Keys = list);
        // The handler (one per request) gets its logger without the logger factory's lock (see CachingLoggerFactory): it replaces
        // the registration AddScheme made, which builds the handler with the container's factory.
        services.TryAddSingleton<CachingLoggerFactory>();
        services.RemoveAll<ApiKeyAuthenticationHandler>();
        services.AddTransient(sp => new ApiKeyAuthenticationHandler(sp.GetRequiredService<IOptionsMonitor<ApiKeyOptions>>(),
            sp.GetRequiredService<CachingLoggerFactory>(), sp.GetRequiredService<System.Text.Encodings.Web.UrlEncoder>()));
        return services.AddJobkeeperAuthorization(ApiKeyAuthenticationHandler.SchemeName);
    }

    /// <summary>
    /// A token bucket per API key name (per remote address for requests without a key, and in open mode) on the
    /// <c>/api</c> routes; refused requests get 429 with <c>Retry-After</c> and problem details. Needs <c>app.UseRateLimiter()</c>
    /// after <c>app.UseAuthentication()</c>.
    /// </summary>
    public static IServiceCollection AddJobkeeperRateLimiting(this IServiceCollection services, JobkeeperRateLimitOptions limit)
    {
        if (limit.PermitsPerSecond <= 0)
        {
            throw new InvalidOperationException("Jobkeeper:RateLimit:PermitsPerSecond must be more than 0.");
        }

        var burst = limit.Burst ?? limit.PermitsPerSecond;
        if (burst <= 0)
        {
            throw new InvalidOperationException("Jobkeeper:RateLimit:Burst must be more than 0.");
        }

        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (!context.Request.Path.StartsWithSegments("/api"))
                {
                    return RateLimitPartition.GetNoLimiter("");
                }

                var user = context.User;
                var partition = user.Identity?.IsAuthenticated == true && !user.HasClaim(c => c.Type == ApiKeyAuthenticationHandler.OpenClaim)
                    ? "key:" + user.FindFirstValue(ClaimTypes.Name)
                    : "ip:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = burst,
                    TokensPerPeriod = limit.PermitsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (rejected, cancellationToken) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after)
                    ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds))
                    : 1;
                var response = rejected.HttpContext.Response;
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var problem = new ProblemDetails
                {
                    Status = StatusCodes.Status429TooManyRequests,
                    Type = "https://jobkeeper.dev/problems/rate-limited",
                    Title = "Too many requests",
                    Detail = $"This client may make {limit.PermitsPerSecond} requests per second (bursts of {burst}). Retry after {seconds} s.",
                };
                await TypedResults.Problem(problem).ExecuteAsync(rejected.HttpContext).ConfigureAwait(false);
            };
        });
        return services;
    }
}
