namespace Jobkeeper.AspNetCore;

/// <summary>Settings of the HTTP API.</summary>
public sealed class JobkeeperApiOptions
{
    /// <summary>Request bodies larger than this are refused with 413 (default 1 MiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long an <c>Idempotency-Key</c> on <c>POST /api/v1/jobs</c> holds (default a day): a create with a key used that long
    /// ago or less answers with the job it made, whatever became of it. From 1 second to a year.
    /// </summary>
    public TimeSpan IdempotencyKeyWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Cleanup retention when the request names no <c>days</c>.</summary>
    public int DefaultCleanupDays { get; set; } = 7;

    /// <summary>
    /// Where <c>MapJobkeeper()</c> serves the OpenAPI documents (the pattern of <c>MapOpenApi</c>); null when the app
    /// maps them itself.
    /// </summary>
    public string? OpenApiPattern { get; set; } = "/openapi/{documentName}.json";
}
