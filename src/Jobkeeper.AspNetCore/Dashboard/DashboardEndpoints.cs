using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Jobkeeper.AspNetCore.Dashboard;

/// <summary>Serves the embedded dashboard files with ETags, so a browser revalidates cheaply (304) instead of downloading again.</summary>
internal static class DashboardEndpoints
{
    // Only this origin's scripts, styles and API; no inline code, so data that slipped into markup could not run.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static Task Index(HttpContext http) => WriteAsync(http, DashboardAssets.Find(DashboardAssets.Index));

    public static Task File(HttpContext http)
    {
        var name = http.Request.RouteValues["file"] as string ?? "";
        return WriteAsync(http, DashboardAssets.Find(name));
    }

    private static async Task WriteAsync(HttpContext http, DashboardAsset? asset)
    {
        var response = http.Response;
        if (asset is null)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var headers = response.Headers;
        headers.ETag = asset.ETag;
        // File names carry no version, so every use revalidates; an unchanged file costs a 304 and no body.
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (asset.ContentType.StartsWith("text/html", StringComparison.Ordinal))
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers["Referrer-Policy"] = "no-referrer";
        }

        if (Matches(http.Request, asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await response.Body.WriteAsync(asset.Content, http.RequestAborted).ConfigureAwait(false);
        }
    }

    private static bool Matches(HttpRequest request, string etag)
    {
        var header = request.Headers.IfNoneMatch;
        if (header.Count == 0 || !EntityTagHeaderValue.TryParseList(header, out var tags))
        {
            return false;
        }

        var current = new EntityTagHeaderValue(etag);
        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(current, useStrongComparison: false));
    }
}
