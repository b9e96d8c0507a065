using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore.Security;

/// <summary>
/// Authenticates a request by its API key: <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>
/// (and <c>?access_token=</c> on routes marked with <see cref="QueryAccessTokenMetadata"/>). The key's SHA-256 is
/// compared with every configured hash in constant time. With no keys configured every request is let in as
/// <c>admin</c> (open mode). Never logs or echoes a key.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    public const string SchemeName = "JobkeeperApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string QueryName = "access_token";

    /// <summary>A claim present only on the principal of open mode (no keys configured).</summary>
    public const string OpenClaim = "jobkeeper:open";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var keys = ParsedKeys();
        if (keys.Length == 0)
        {
            return ApiKeyOptions.OpenResult;
        }

        var presented = PresentedKey();
        if (presented.IsEmpty)
        {
            return NoResult;
        }

        return Match(keys, presented) is { } key
            ? key.Authenticated
            : Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
    }

    /// <summary>The configured key whose hash is the SHA-256 of <paramref name="presented"/>, or null.</summary>
    internal static ApiKeyOptions.ParsedKey? Match(ApiKeyOptions.ParsedKey[] keys, ReadOnlySpan<char> presented)
    {
        Span<byte> hash = stackalloc byte[ApiKeyHash.DigestBytes];
        ApiKeyHash.Compute(presented, hash);
        ApiKeyOptions.ParsedKey? match = null;
        foreach (var key in keys)
        {
            // Every entry is compared, so the time taken does not say which one matched.
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash) && match is null)
            {
                match = key;
            }
        }

        return match;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = !PresentedKey().IsEmpty;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = presented ? "Bearer error=\"invalid_token\"" : "Bearer";
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status401Unauthorized,
            Type = "https://jobkeeper.dev/problems/" + (presented ? "invalid-api-key" : "api-key-required"),
            Title = presented ? "API key not valid" : "API key required",
            Detail = (presented ? "The API key given is not one this server accepts. " : "")
                + "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
        };
        await TypedResults.Problem(problem).ExecuteAsync(Context).ConfigureAwait(false);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var needed = Context.GetEndpoint()?.Metadata.GetMetadata<JobkeeperRoleMetadata>()?.Role;
        var roles = Context.User.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList();
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status403Forbidden,
            Type = "https://jobkeeper.dev/problems/role-required",
            Title = "Role not allowed",
            Detail = needed is null
                ? $"The key '{Context.User.Identity?.Name}' may not use this route."
                : $"This route needs the role '{needed}' (or 'admin'); the key '{Context.User.Identity?.Name}' has {string.Join(", ", roles)}.",
        };
        await TypedResults.Problem(problem).ExecuteAsync(Context).ConfigureAwait(false);
    }

    /// <summary>The key the request presents, trimmed; empty when none (an empty bearer token is none, as before any other place is looked at).</summary>
    private ReadOnlySpan<char> PresentedKey()
    {
        var key = HeaderKey(Request);
        if (!key.IsEmpty || Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return key;
        }

        if (Context.GetEndpoint()?.Metadata.GetMetadata<QueryAccessTokenMetadata>() is not null
            && Request.Query[QueryName].ToString() is { Length: > 0 } query)
        {
            return query;
        }

        return default;
    }

    /// <summary>
    /// The key in <c>Authorization: Bearer</c>, else in <c>X-Api-Key</c>, trimmed; empty when neither has one. Spans over the
    /// header values: the hot read path does not copy the key into a new string per request.
    /// </summary>
    internal static ReadOnlySpan<char> HeaderKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization.AsSpan("Bearer ".Length).Trim();
        }

        return request.Headers[HeaderName].ToString().AsSpan().Trim();
    }

    private static readonly Task<AuthenticateResult> NoResult = Task.FromResult(AuthenticateResult.NoResult());

    private ApiKeyOptions.ParsedKey[] ParsedKeys() => Options.Parsed;
}
