using Jobkeeper.Telemetry;

namespace OpenTelemetry.Trace;

public static class JobkeeperTracerProviderBuilderExtensions
{
    /// <summary>
    /// Collects Jobkeeper's spans: the server side's ("Jobkeeper": a job's create, claim, run, heartbeat, progress, prompt,
    /// complete or fail, all in the trace of the request that created the job) and the .NET client worker loop's
    /// ("Jobkeeper.Client": one span per job it runs). See docs/operations.md, "Traces".
    /// </summary>
    public static TracerProviderBuilder AddJobkeeperInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(JobkeeperTelemetry.ActivitySourceName, JobkeeperTelemetry.ClientActivitySourceName);
    }
}
