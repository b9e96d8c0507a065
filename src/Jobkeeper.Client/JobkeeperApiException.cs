using System.Net;

namespace Jobkeeper.Client;

/// <summary>The server refused a request: the status and the problem details it sent (what was wrong and how to fix it).</summary>
public sealed class JobkeeperApiException(HttpStatusCode status, string? problemType, string? title, string? detail)
    : Exception($"{(int)status} {title ?? status.ToString()}: {detail}")
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The problem's type URI, e.g. https://jobkeeper.dev/problems/lease-lost.</summary>
    public string? ProblemType { get; } = problemType;

    public string? Detail { get; } = detail;

    /// <summary>The last segment of <see cref="ProblemType"/> ("lease-lost", "job-not-found", ...).</summary>
    public string? Kind => ProblemType?[(ProblemType.LastIndexOf('/') + 1)..];
}
