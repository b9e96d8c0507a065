namespace Jobkeeper.AspNetCore;

/// <summary>Settings of the HTTP API.</summary>
public sealed class JobkeeperApiOptions
{
    /// <summary>Request bodies larger than this are refused with 413 (default 1 MiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Cleanup retention when the request names no <c>days</c>.</summary>
    public int DefaultCleanupDays { get; set; } = 7;

    /// <summary>
    /// Where <c>MapJobkeeper()</c> serves the OpenAPI documents (the pattern of <c>MapOpenApi</c>); null when the app
    /// maps them itself.
    /// </summary>
    public string? OpenApiPattern { get; set; } = "/openapi/{documentName}.json";
}
