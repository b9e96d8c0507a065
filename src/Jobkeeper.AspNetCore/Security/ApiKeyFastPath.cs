using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore.Security;

/// <summary>
/// Admits, in one step, a request to a Jobkeeper route that presents a valid API key in a header with the route's role (or
/// any request to such a route in open mode): the key's shared principal becomes <c>HttpContext.User</c>, and ASP.NET Core's
/// authentication and authorization middleware are skipped for that request (see <c>UseJobkeeperApiKeys</c>).
/// <para>
/// It only admits what those two would admit, and gives the same principal. Everything else takes their path unchanged:
/// no key, a key that is not valid, a role the key lacks (they answer 401 or 403 and count it), <c>?access_token=</c>, routes
/// that are not Jobkeeper's or carry other authorization metadata, and any app whose authentication or authorization has
/// parts of its own (another default scheme, request-handler schemes, a claims transformation, authorization handlers, a
/// policy provider or result handler that is not the framework's). Those are checked once.
/// </para>
/// <para>
/// Why: the two middleware took about half of the hot <c>GET /api/v1/jobs/{id}</c>'s CPU (a request scope, the handler, the
/// policy evaluation, ~2.5 KB per request) after everything of Jobkeeper's own in them was cached; docs/benchmarks.md has the
/// measurement. The requests admitted here are not counted in <c>aspnetcore.authentication.*</c> and
/// <c>aspnetcore.authorization.attempts</c>; those refused still are.
/// </para>
/// </summary>
internal sealed class ApiKeyFastPath
{
    /// <summary>
    /// The item ASP.NET Core's authorization middleware sets to tell the endpoint middleware that authorization ran (without
    /// it a route with authorization metadata throws); this path sets it with its own value, which marks the request admitted.
    /// </summary>
    private const string AuthorizationInvokedKey = "__AuthorizationMiddlewareWithEndpointInvoked";

    private static readonly object AdmittedValue = new();

    private readonly RequestDelegate _next;
    private readonly IServiceProvider _services;
    private readonly IOptionsMonitor<ApiKeyOptions> _options;
    /// <summary>Per route, the role this path admits to, or "" when the framework must decide.</summary>
    private readonly ConditionalWeakTable<Endpoint, string> _roles = new();
    private readonly ConditionalWeakTable<Endpoint, string>.CreateValueCallback _eligibleRole;
    private readonly Lazy<bool> _standard;

    public ApiKeyFastPath(RequestDelegate next, IServiceProvider services, IOptionsMonitor<ApiKeyOptions> options)
    {
        _next = next;
        _services = services;
        _options = options;
        _eligibleRole = endpoint => EligibleRole(endpoint) ?? "";
        _standard = new Lazy<bool>(StandardMachinery);
    }

    /// <summary>True when this path admitted the request, so the framework's authentication and authorization are skipped.</summary>
    public static bool Admitted(HttpContext context) =>
        context.Items.TryGetValue(AuthorizationInvokedKey, out var value) && ReferenceEquals(value, AdmittedValue);

    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is { } endpoint && RoleOf(endpoint) is { } role && Principal(context, role) is { } user)
        {
            context.User = user;
            context.Items[AuthorizationInvokedKey] = AdmittedValue;
        }

        return _next(context);
    }

    /// <summary>The principal the framework would authenticate and then authorize for <paramref name="role"/>; null to leave it to the framework.</summary>
    private SharedPrincipal? Principal(HttpContext context, string role)
    {
        var keys = _options.Get(ApiKeyAuthenticationHandler.SchemeName).Parsed;
        if (keys.Length == 0)
        {
            return ApiKeyOptions.OpenPrincipal;
        }

        var presented = ApiKeyAuthenticationHandler.HeaderKey(context.Request);
        if (presented.IsEmpty || KeyOf(context, keys, presented) is not { } key)
        {
            return null;
        }

        return JobkeeperRoleRequirement.Allows(key.Principal, role) ? key.Principal : null;
    }

    /// <summary>
    /// The configured key <paramref name="presented"/> is: the one this HTTP/1.1 connection presented and matched last when
    /// it is the same key (compared in constant time), else by its SHA-256 as the handler does. Why: under load the SHA-256
    /// (OpenSSL, per request) took more of the keyed hot GET's thread time than the endpoint itself (docs/benchmarks.md).
    /// A connection only ever meets the key it presented itself; HTTP/1.1 runs one request at a time per connection, so
    /// its items need no lock (HTTP/2 streams would, and always hash).
    /// </summary>
    private static ApiKeyOptions.ParsedKey? KeyOf(HttpContext context, ApiKeyOptions.ParsedKey[] keys, ReadOnlySpan<char> presented)
    {
        var items = HttpProtocol.IsHttp11(context.Request.Protocol) ? context.Features.Get<IConnectionItemsFeature>()?.Items : null;
        if (items is not null && items.TryGetValue(typeof(ConnectionKey), out var value) && value is ConnectionKey last
            && ReferenceEquals(last.Keys, keys) && last.Presented.Length == presented.Length
            && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(last.Presented.AsSpan()), MemoryMarshal.AsBytes(presented)))
        {
            return last.Key;
        }

        var key = ApiKeyAuthenticationHandler.Match(keys, presented);
        if (key is not null && items is not null)
        {
            items[typeof(ConnectionKey)] = new ConnectionKey(presented.ToArray(), key, keys);
        }

        return key;
    }

    /// <summary>The key a connection presented last, the configured key it matched, and the set of keys that was matched against.</summary>
    private sealed record ConnectionKey(char[] Presented, ApiKeyOptions.ParsedKey Key, ApiKeyOptions.ParsedKey[] Keys);

    /// <summary>The role a route needs when this path may admit to it; null when the framework must decide. Worked out once per route.</summary>
    private string? RoleOf(Endpoint endpoint) => _roles.GetValue(endpoint, _eligibleRole) is { Length: > 0 } role ? role : null;

    private string? EligibleRole(Endpoint endpoint)
    {
        var metadata = endpoint.Metadata;
        if (metadata.GetMetadata<JobkeeperRoleMetadata>()?.Role is not { } role
            || metadata.GetMetadata<IAllowAnonymous>() is not null
            || metadata.GetOrderedMetadata<AuthorizationPolicy>().Count > 0
            || metadata.GetOrderedMetadata<IAuthorizationRequirementData>().Count > 0)
        {
            return null;
        }

        // Exactly the role's policy, named, with no roles or schemes of its own: what MapJobkeeper sets.
        var policyName = JobkeeperRoles.PolicyName(role);
        var authorize = metadata.GetOrderedMetadata<IAuthorizeData>();
        if (authorize.Count == 0 || authorize.Any(a => !string.Equals(a.Policy, policyName, StringComparison.Ordinal)
                || !string.IsNullOrEmpty(a.Roles) || !string.IsNullOrEmpty(a.AuthenticationSchemes)))
        {
            return null;
        }

        if (!_standard.Value)
        {
            return null;
        }

        // The policy of that name is still the one AddJobkeeperAuthorization made: one role requirement, the default scheme.
        var policy = _services.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync(policyName);
        return policy.IsCompletedSuccessfully && policy.Result is { } p && p.AuthenticationSchemes.Count == 0
            && p.Requirements is [JobkeeperRoleRequirement requirement] && string.Equals(requirement.Role, role, StringComparison.Ordinal)
            ? role
            : null;
    }

    /// <summary>
    /// True when authentication and authorization are made only of the framework's parts and Jobkeeper's API-key scheme, so
    /// that the framework's answer for a valid key is the one <see cref="Principal"/> gives.
    /// </summary>
    private bool StandardMachinery()
    {
        using var scope = _services.CreateScope();
        var services = scope.ServiceProvider;
        var schemes = services.GetRequiredService<IAuthenticationSchemeProvider>();
        var defaultScheme = schemes.GetDefaultAuthenticateSchemeAsync();
        var requestHandlers = schemes.GetRequestHandlerSchemesAsync();
        return defaultScheme.IsCompletedSuccessfully && defaultScheme.Result is { } scheme
            && string.Equals(scheme.Name, ApiKeyAuthenticationHandler.SchemeName, StringComparison.Ordinal)
            && scheme.HandlerType == typeof(ApiKeyAuthenticationHandler)
            && requestHandlers.IsCompletedSuccessfully && !requestHandlers.Result.Any()
            && services.GetService<IAuthenticationService>() is AuthenticationService
            && services.GetService<IClaimsTransformation>() is JobkeeperClaimsTransformation
            && services.GetService<IAuthorizationService>() is DefaultAuthorizationService
            && services.GetService<IAuthorizationHandlerProvider>() is DefaultAuthorizationHandlerProvider
            && services.GetServices<IAuthorizationHandler>().All(h => h is PassThroughAuthorizationHandler)
            && services.GetService<IPolicyEvaluator>() is PolicyEvaluator
            && services.GetService<IAuthorizationMiddlewareResultHandler>() is AuthorizationMiddlewareResultHandler;
    }
}
