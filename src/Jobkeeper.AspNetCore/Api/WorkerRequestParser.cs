using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Workers;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Turns the external-worker request bodies into values, naming the field at fault.</summary>
internal static class WorkerRequestParser
{
    /// <summary>The longest a claim may wait for work (<c>wait_seconds</c> 0–30).</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    private static readonly string[] ClaimFields = ["worker_id", "types", "max", "lease_seconds", "wait_seconds"];
    private static readonly string[] LeaseFields = ["lease_token", "lease_seconds"];
    private static readonly string[] ProgressFields = [.. LeaseFields, .. JobRequestParser.ProgressMembers];
    private static readonly string[] CompleteFields = ["lease_token", "result"];
    private static readonly string[] FailFields = ["lease_token", "error", "retry"];

    public static ClaimJobs ParseClaim(JsonElement body)
    {
        Object(body, ClaimFields);
        if (!body.TryGetProperty("worker_id", out var worker))
        {
            throw new JobValidationException("worker_id", "is required: a name for this worker (shown as the lease owner)");
        }

        if (!body.TryGetProperty("types", out var types) || types.ValueKind != JsonValueKind.Array)
        {
            throw new JobValidationException("types", "is required: an array of the job types this worker runs, e.g. [\"audio.analyze\"]");
        }

        var typeNames = new List<string>(types.GetArrayLength());
        var index = 0;
        foreach (var type in types.EnumerateArray())
        {
            var field = $"types[{index++}]";
            var name = JsonFields.String(type, field);
            typeNames.Add(string.IsNullOrWhiteSpace(name) || name.Length > JobValidator.MaxTypeLength
                ? throw new JobValidationException(field, $"must be a job type: 1 to {JobValidator.MaxTypeLength} characters, not blank")
                : name);
        }

        if (typeNames.Count == 0)
        {
            throw new JobValidationException("types", "must name at least one job type to claim");
        }

        var wait = body.TryGetProperty("wait_seconds", out var waitElement)
            ? JsonFields.NullableSeconds(waitElement, "wait_seconds", MaxWait, zeroAllowed: true) ?? TimeSpan.Zero
            : TimeSpan.Zero;

        return new ClaimJobs(
            JsonFields.String(worker, "worker_id"),
            typeNames,
            body.TryGetProperty("max", out var max) && max.ValueKind != JsonValueKind.Null ? JsonFields.Int32(max, "max") : 1,
            LeaseSeconds(body) ?? JobTransitions.DefaultLease,
            wait);
    }

    public static LeaseCall ParseLease(JsonElement body)
    {
        Object(body, LeaseFields);
        return new LeaseCall(Token(body), LeaseSeconds(body));
    }

    public static (LeaseCall Lease, ProgressPatch Progress) ParseProgress(JsonElement body)
    {
        Object(body, ProgressFields);
        return (new LeaseCall(Token(body), LeaseSeconds(body)), JobRequestParser.ParseProgress(body, ""));
    }

    public static (string Token, JsonElement? Result) ParseComplete(JsonElement body)
    {
        Object(body, CompleteFields);
        JsonElement? result = body.TryGetProperty("result", out var r) && r.ValueKind != JsonValueKind.Null ? JsonFields.FreeForm(r, "result") : null;
        return (Token(body), result);
    }

    public static (string Token, JobError Error, bool Retry) ParseFail(JsonElement body)
    {
        Object(body, FailFields);
        if (!body.TryGetProperty("error", out var errorElement) || errorElement.ValueKind == JsonValueKind.Null)
        {
            throw new JobValidationException("error", "is required: {\"message\": \"what went wrong\", \"code\"?: ..., \"details\"?: ...} or just a message string");
        }

        var error = errorElement.ValueKind == JsonValueKind.String
            ? new JobError { Message = JsonFields.String(errorElement, "error") }
            : JobRequestParser.ParseError(errorElement)!;
        var retry = !body.TryGetProperty("retry", out var retryElement) || retryElement.ValueKind == JsonValueKind.Null
            || JsonFields.Boolean(retryElement, "retry");
        return (Token(body), error, retry);
    }

    private static void Object(JsonElement body, IReadOnlyCollection<string> fields)
    {
        JsonFields.EnsureObject(body, "body");
        JsonFields.RejectUnknown(body, "", fields);
    }

    private static string Token(JsonElement body) =>
        body.TryGetProperty("lease_token", out var token) && token.ValueKind == JsonValueKind.String
            ? JsonFields.String(token, "lease_token")
            : throw new JobValidationException("lease_token", "is required: the lease_token the claim returned for this job");

    /// <summary>The lease_seconds given, or null: a claim then takes the default, a renewal the job's own lease length.</summary>
    private static TimeSpan? LeaseSeconds(JsonElement body)
    {
        if (!body.TryGetProperty("lease_seconds", out var lease) || lease.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var seconds = JsonFields.Int32(lease, "lease_seconds");
        return TimeSpan.FromSeconds(seconds >= WorkQueue.MinLease.TotalSeconds && seconds <= WorkQueue.MaxLease.TotalSeconds
            ? seconds
            : throw new JobValidationException("lease_seconds",
                $"must be between {WorkQueue.MinLease.TotalSeconds:0} and {WorkQueue.MaxLease.TotalSeconds:0}"));
    }
}

internal sealed record ClaimJobs(string WorkerId, IReadOnlyList<string> Types, int Max, TimeSpan Lease, TimeSpan Wait);

internal sealed record LeaseCall(string Token, TimeSpan? Lease);
