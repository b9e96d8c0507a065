using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Http;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// The <c>Idempotency-Key</c> header of <c>POST /api/v1/jobs</c>: the create's unique key, holding for the configured window
/// whatever became of the job, so a client that resends a create after a lost answer gets the job it made.
/// </summary>
public static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";

    /// <summary>Set to <c>true</c> on a create answered with an existing job (200).</summary>
    public const string ExistingHeader = "Jobkeeper-Existing";

    internal static NewJob Apply(HttpRequest request, NewJob job, TimeSpan window)
    {
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return job;
        }

        if (values.Count != 1 || string.IsNullOrEmpty(values[0]) || values[0]!.Length > JobLimits.MaxUniqueKeyLength)
        {
            throw new JobValidationException(Header, $"must be one value of 1 to {JobLimits.MaxUniqueKeyLength} characters, e.g. a UUID the client made for this create");
        }

        if (job.UniqueKey is not null || job.UniqueWindowSeconds is not null || job.UniqueStatuses is not null || job.DebounceSeconds is not null)
        {
            throw new JobValidationException(Header, "cannot go with unique_key, unique_window_seconds, unique_statuses or debounce_seconds in the body: send the header or those");
        }

        return job with { UniqueKey = values[0], UniqueWindowSeconds = window.TotalSeconds, UniqueStatuses = JobStatusNames.All };
    }
}
