using System.Diagnostics;

namespace Jobkeeper.Telemetry;

/// <summary>
/// The names Jobkeeper reports under. <c>AddJobkeeperInstrumentation()</c> (package Jobkeeper.OpenTelemetry) subscribes an
/// OpenTelemetry pipeline to them; any <see cref="System.Diagnostics.Metrics.MeterListener"/> or <see cref="ActivityListener"/> can too.
/// </summary>
public static class JobkeeperTelemetry
{
    /// <summary>The meter of the server side (jobs, cache, store commits), created per host through its <c>IMeterFactory</c>.</summary>
    public const string MeterName = "Jobkeeper";

    /// <summary>The spans of the server side: a job's create, claim, run, heartbeat, progress, prompt, complete or fail.</summary>
    public const string ActivitySourceName = "Jobkeeper";

    /// <summary>The spans of the .NET client's worker loop (<c>JobkeeperClient.RunWorkerAsync</c>): one per job it runs.</summary>
    public const string ClientActivitySourceName = "Jobkeeper.Client";

    internal static readonly ActivitySource Source = new(ActivitySourceName);
}
