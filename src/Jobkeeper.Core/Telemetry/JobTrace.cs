using System.Diagnostics;
using Jobkeeper.Model;

namespace Jobkeeper.Telemetry;

/// <summary>
/// How a job joins the trace of the request that created it. The job keeps a W3C <c>traceparent</c> taken when it is
/// created, and every later span about it — the claim, the run, and through the work item an external worker's calls —
/// is a child of that context, so one trace shows the job from its creation to its end, across processes.
/// </summary>
public static class JobTrace
{
    /// <summary>
    /// The context a new job keeps: the current activity's (Jobkeeper's create span when it is recorded, else the span
    /// the caller is in, e.g. the ASP.NET Core request that carried a <c>traceparent</c> header). Null outside any trace.
    /// </summary>
    public static string? Capture() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>The parent context a stored <paramref name="traceparent"/> names; default (no parent) when absent or malformed.</summary>
    public static ActivityContext ParentOf(string? traceparent) =>
        traceparent is not null && ActivityContext.TryParse(traceparent, null, isRemote: true, out var context) ? context : default;

    /// <summary>Starts a span about <paramref name="job"/> as a child of the job's stored context (or of the current activity when it has none).</summary>
    internal static Activity? StartJobSpan(string name, Job job, ActivityKind kind = ActivityKind.Internal, DateTimeOffset startTime = default,
        ActivityLink[]? links = null)
    {
        var activity = JobkeeperTelemetry.Source.StartActivity(name, kind, ParentOf(job.Traceparent), links: links, startTime: startTime);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("jobkeeper.job.id", job.Id);
            activity.SetTag("jobkeeper.job.type", job.Type);
            activity.SetTag("jobkeeper.job.attempt", job.Attempt);
        }

        return activity;
    }

    /// <summary>Starts a span of a call about job <paramref name="id"/>, a child of the current activity (the worker's request, or the in-process run).</summary>
    internal static Activity? StartCallSpan(string name, string id)
    {
        var activity = JobkeeperTelemetry.Source.StartActivity(name);
        activity?.SetTag("jobkeeper.job.id", id);
        return activity;
    }

    /// <summary>Ends a call span with the status the job has after the call.</summary>
    internal static Job Ended(Activity? span, Job job)
    {
        span?.SetTag("jobkeeper.job.status", job.Status.ToName());
        return job;
    }

    /// <summary>Marks <paramref name="span"/> failed with <paramref name="exception"/>; always false: an exception filter that never catches.</summary>
    internal static bool Failed(Activity? span, Exception exception)
    {
        span?.SetStatus(ActivityStatusCode.Error, exception.Message);
        span?.AddException(exception);
        return false;
    }
}
