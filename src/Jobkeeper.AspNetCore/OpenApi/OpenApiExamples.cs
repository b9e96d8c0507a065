using System.Text.Json.Nodes;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// A request body that works, per operation id, shown by Swagger's "Try it out". Each is sent to a real server by the
/// examples test (with the lease token of a real claim in place of <see cref="LeaseToken"/>), so none can rot.
/// </summary>
public static class OpenApiExamples
{
    /// <summary>Stands for the <c>lease_token</c> that <c>POST /api/v1/workers/claim</c> returned with the job.</summary>
    public const string LeaseToken = "lease-token-from-the-claim";

    /// <summary>The job type of the examples, so a claim example claims what the create example made.</summary>
    public const string JobType = "example.task";

    private static readonly Dictionary<string, string> Bodies = new(StringComparer.Ordinal)
    {
        ["CreateJob"] = $$"""{"type":"{{JobType}}","queue":"podcasts","input":{"file":"episode-42.mp3"},"labels":{"episode_id":"42"},"priority":0,"max_attempts":3,"unique_key":"analyze:episode-42"}""",
        ["CreateJobs"] = $$$"""{"jobs":[{"type":"{{{JobType}}}","input":{"file":"episode-43.mp3"}},{"type":"{{{JobType}}}","input":{"file":"episode-44.mp3"},"priority":5}]}""",
        ["BulkJobs"] = """{"action":"retry","filter":{"status":"failed","type":"audio.analyze","created_after":"2026-12-01T00:00:00Z"},"dry_run":true}""",
        ["UpdateJob"] = """{"progress":{"fraction":0.5,"stage":"encode","message":"half way"},"labels":{"reviewed":"yes"}}""",
        ["ClaimJobs"] = $$"""{"worker_id":"worker-1","types":["{{JobType}}"],"max":1,"lease_seconds":60,"wait_seconds":0}""",
        ["HeartbeatJob"] = $$"""{"lease_token":"{{LeaseToken}}","lease_seconds":60}""",
        ["ReportJobProgress"] = $$"""{"lease_token":"{{LeaseToken}}","fraction":0.25,"stage":"download","current":1,"total":4}""",
        ["CompleteJob"] = $$$"""{"lease_token":"{{{LeaseToken}}}","result":{"duration_seconds":42}}""",
        ["FailJob"] = $$"""{"lease_token":"{{LeaseToken}}","error":{"message":"the file could not be read","code":"unreadable"},"retry":false}""",
        ["ReleaseJob"] = $$"""{"lease_token":"{{LeaseToken}}"}""",
        ["AskPrompt"] = $$"""{"lease_token":"{{LeaseToken}}","key":"review","question":"Publish this episode?","options":["approve","reject"],"expires_in_seconds":3600,"on_expiry":"fail"}""",
        ["AnswerPrompt"] = """{"answer":"approve","confidence":0.9,"reason":"listened to it"}""",
        ["UpdateQueue"] = """{"concurrency_limit":4,"partition":{"key":"label:user","limit":1},"rate_limit":{"count":50,"period_seconds":60,"per_key":false}}""",
        ["PauseQueue"] = $$"""{"type":"{{JobType}}"}""",
        ["ResumeQueue"] = $$"""{"type":"{{JobType}}"}""",
        ["CreateSchedule"] = $$"""{"name":"{{Schedule}}","cron":"0 3 * * *","time_zone":"Europe/Berlin","job":{"type":"{{JobType}}","queue":"podcasts","input":{"report":"daily"},"labels":{"team":"audio"},"priority":0,"max_attempts":3},"misfire":"fire_once","overlap":"skip"}""",
        ["UpdateSchedule"] = """{"cron":"30 3 * * 1-5","misfire":"catch_up","catch_up_limit":3}""",
        ["SaveCheckpoint"] = $$$"""{"lease_token":"{{{LeaseToken}}}","state":{"done":["part-1"]}}""",
    };

    /// <summary>The example body of <paramref name="operationId"/>, or null when it takes none.</summary>
    public static JsonNode? Body(string operationId) => Bodies.TryGetValue(operationId, out var json) ? JsonNode.Parse(json) : null;

    /// <summary>The queue of the examples (the create example's), for the queue routes' path parameter.</summary>
    public const string Queue = "podcasts";

    /// <summary>The schedule of the examples (the create example's), for the schedule routes' path parameter.</summary>
    public const string Schedule = "nightly-report";

    /// <summary>An example job id for path parameters.</summary>
    public const string JobId = "0199a0b2-7c4e-7d3a-9f61-3b2f8e5a1c40";
}
