using Jobkeeper.AspNetCore.Api;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

public static class JobkeeperHealthChecks
{
    /// <summary>The tag of the checks <c>/health/ready</c> runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Adds <see cref="JobStoreHealthCheck"/> ("jobkeeper_store", tagged <see cref="ReadyTag"/>) once.</summary>
    public static IHealthChecksBuilder AddJobkeeperStore(this IHealthChecksBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        const string name = "jobkeeper_store";
        builder.Services.Configure<HealthCheckServiceOptions>(o =>
        {
            if (!o.Registrations.Any(r => r.Name == name))
            {
                o.Registrations.Add(new HealthCheckRegistration(name, sp => ActivatorUtilities.CreateInstance<JobStoreHealthCheck>(sp),
                    HealthStatus.Unhealthy, [ReadyTag]));
            }
        });
        return builder;
    }
}
