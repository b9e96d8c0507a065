using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

internal static class TestJobs
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static Job Queued(string id = "job-1", long version = 1) => new()
    {
        Id = id,
        Type = "audio.analyze",
        Status = JobStatus.Queued,
        CreatedAt = T0,
        UpdatedAt = T0,
        RunAt = T0,
        MaxAttempts = 3,
        Version = version,
    };
}
