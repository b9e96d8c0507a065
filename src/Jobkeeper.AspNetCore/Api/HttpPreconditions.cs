using System.Globalization;
using Jobkeeper.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>ETags are the job version in quotes; If-Match turns an update into compare-and-set.</summary>
internal static class HttpPreconditions
{
    public static string ETag(long version) => "\"" + version.ToString(CultureInfo.InvariantCulture) + "\"";

    /// <summary>The version If-Match demands, or null when the header is absent or "*".</summary>
    public static long? ExpectedVersion(HttpRequest request)
    {
        var header = request.Headers[HeaderNames.IfMatch];
        if (header.Count == 0)
        {
            return null;
        }

        var text = header.Count == 1 ? header[0]!.Trim() : "";
        if (text == "*")
        {
            return null;
        }

        if (text.StartsWith("W/", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
        {
            text = text[1..^1];
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new JobValidationException("If-Match", "must be one ETag from this job, e.g. \"3\" (the version in quotes)");
    }

    /// <summary>True when If-None-Match is the one ETag <paramref name="etag"/> (strong or weak).</summary>
    public static bool NotModified(HttpRequest request, string etag)
    {
        var header = request.Headers[HeaderNames.IfNoneMatch];
        return header.Count == 1 && header[0] is { } value
            && (value == etag || (value.StartsWith("W/", StringComparison.Ordinal) && value.AsSpan(2).SequenceEqual(etag)));
    }
}
