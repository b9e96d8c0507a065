namespace Jobkeeper.AspNetCore.Security;

/// <summary>
/// The roles an API key can hold. Each Jobkeeper route needs one of them (see docs/api.md, "Access control");
/// <see cref="Admin"/> allows every route.
/// </summary>
public static class JobkeeperRoles
{
    /// <summary>Read jobs, their events and prompts; follow the event streams.</summary>
    public const string Read = "read";

    /// <summary>Create jobs and change them: update, cancel, retry.</summary>
    public const string Submit = "submit";

    /// <summary>The external worker routes: claim, heartbeat, progress, complete, fail, release, ask, checkpoint.</summary>
    public const string Work = "work";

    /// <summary>Answer the prompts jobs ask.</summary>
    public const string Answer = "answer";

    /// <summary>Delete jobs, clean up, and everything the other roles allow.</summary>
    public const string Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [Read, Submit, Work, Answer, Admin];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    /// <summary>The name of the authorization policy that allows <paramref name="role"/> (and <see cref="Admin"/>).</summary>
    public static string PolicyName(string role) => "Jobkeeper." + role;
}

/// <summary>
/// The requirement of a Jobkeeper role policy: an authenticated caller (as <c>RequireAuthenticatedUser</c>) that is in the role
/// or in <see cref="JobkeeperRoles.Admin"/> (as <c>RequireRole(role, admin)</c>). One requirement that handles itself instead of
/// those two: ASP.NET Core's handlers each filter the policy's requirements by type and enumerate the roles and claims on
/// every request (five enumerators and iterators per request in the hot GET's gc-verbose trace).
/// </summary>
internal sealed class JobkeeperRoleRequirement(string role) : Microsoft.AspNetCore.Authorization.IAuthorizationRequirement,
    Microsoft.AspNetCore.Authorization.IAuthorizationHandler
{
    public string Role { get; } = role;

    public Task HandleAsync(Microsoft.AspNetCore.Authorization.AuthorizationHandlerContext context)
    {
        if (Allows(context.User, Role))
        {
            context.Succeed(this);
        }

        return Task.CompletedTask;
    }

    /// <summary>The rule of the requirement: an authenticated <paramref name="user"/> in <paramref name="role"/> or in admin.</summary>
    internal static bool Allows(System.Security.Claims.ClaimsPrincipal? user, string role) =>
        Authenticated(user) && (user!.IsInRole(role) || user.IsInRole(JobkeeperRoles.Admin));

    /// <summary>As <c>DenyAnonymousAuthorizationRequirement</c>: some identity of the caller is authenticated.</summary>
    private static bool Authenticated(System.Security.Claims.ClaimsPrincipal? user) =>
        user?.Identity is { } first && (first.IsAuthenticated || user.Identities.Any(i => i.IsAuthenticated));
}

/// <summary>Endpoint metadata: the role a Jobkeeper route needs.</summary>
public sealed record JobkeeperRoleMetadata(string Role);

/// <summary>
/// Endpoint metadata: the route also accepts the key as <c>?access_token=</c> (only the event streams,
/// because a browser's EventSource cannot send headers).
/// </summary>
public sealed class QueryAccessTokenMetadata
{
    public static QueryAccessTokenMetadata Instance { get; } = new();

    private QueryAccessTokenMetadata()
    {
    }
}

/// <summary>Registered by <c>AddJobkeeperAuthorization</c>: tells <c>MapJobkeeper</c> to require the role policies.</summary>
internal sealed class JobkeeperAuthorizationMarker;
