using System.Security.Claims;
using Jobkeeper.AspNetCore.Security;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Http;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Who a request acts as, for the history. An authenticated caller (an API key: its name) is the actor, and
/// <c>X-Actor</c> only adds a display name beside it: a caller cannot pass for another key or person. Without
/// authentication (open mode, or an app that maps Jobkeeper without it) nobody is vouched for, so <c>X-Actor</c>
/// names the actor. <c>X-Reason</c> says why. Both headers are UTF-8 text, percent-encoded where needed
/// (<c>encodeURIComponent</c>), since header values themselves carry only ASCII safely.
/// </summary>
internal static class RequestActor
{
    public const string ActorHeader = "X-Actor";
    public const string ReasonHeader = "X-Reason";

    /// <summary>The actor of this request; null when it is anonymous and says nothing (the manager's default actor).</summary>
    public static JobActor? From(HttpContext http, string? claimedName = null)
    {
        var claimed = claimedName ?? Header(http, ActorHeader, JobLimits.MaxActorNameLength);
        var reason = Header(http, ReasonHeader, JobLimits.MaxReasonLength);
        if (Authenticated(http.User) is { } identity)
        {
            return new JobActor(identity)
            {
                DisplayName = claimed is null || string.Equals(claimed, identity, StringComparison.Ordinal) ? null : claimed,
                Reason = reason,
            };
        }

        return claimed is null && reason is null ? null : new JobActor(claimed) { Reason = reason };
    }

    /// <summary>The name of the authenticated caller, or null for open mode and anonymous requests.</summary>
    private static string? Authenticated(ClaimsPrincipal user) =>
        user.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } && !user.HasClaim(c => c.Type == ApiKeyAuthenticationHandler.OpenClaim)
            ? name
            : null;

    /// <summary>The header's text, percent-decoded and trimmed; null when absent or blank. Refused (400) when too long or holding control characters.</summary>
    private static string? Header(HttpContext http, string name, int maxLength)
    {
        var values = http.Request.Headers[name];
        if (values.Count == 0)
        {
            return null;
        }

        if (values.Count > 1)
        {
            throw new JobValidationException(name, "must be given once");
        }

        string text;
        try
        {
            text = Uri.UnescapeDataString(values[0] ?? "").Trim();
        }
        catch (UriFormatException)
        {
            throw new JobValidationException(name, "must be UTF-8 text, percent-encoded where it is not ASCII (e.g. %C5%81ukasz)");
        }

        if (text.Length == 0)
        {
            return null;
        }

        if (text.Length > maxLength)
        {
            throw new JobValidationException(name, $"must be at most {maxLength} characters");
        }

        if (text.Any(char.IsControl))
        {
            throw new JobValidationException(name, "must be one line of text, without control characters, percent-encoded UTF-8 where it is not ASCII");
        }

        return text;
    }
}
