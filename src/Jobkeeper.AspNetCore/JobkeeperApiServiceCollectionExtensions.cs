using Jobkeeper.AspNetCore.Api;
using Jobkeeper.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class JobkeeperApiServiceCollectionExtensions
{
    /// <summary>
    /// Optional settings of the HTTP API, plus problem details for the app's other errors and the OpenAPI document
    /// of Jobkeeper's routes (<see cref="JobkeeperOpenApiServiceCollectionExtensions.AddJobkeeperOpenApi"/>), which
    /// <c>MapJobkeeper()</c> then serves at <c>/openapi/v1.json</c>. <c>MapJobkeeper()</c> works without it, on defaults
    /// and without a document.
    /// </summary>
    public static IServiceCollection AddJobkeeperApi(this IServiceCollection services, Action<Jobkeeper.AspNetCore.JobkeeperApiOptions>? configure = null)
    {
        var options = services.AddOptions<Jobkeeper.AspNetCore.JobkeeperApiOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<
            Microsoft.Extensions.Options.IValidateOptions<Jobkeeper.AspNetCore.JobkeeperApiOptions>, Jobkeeper.AspNetCore.JobkeeperApiOptionsValidator>());

        services.AddProblemDetails();
        services.AddHealthChecks().AddJobkeeperStore();
        // Only Jobkeeper's own types resolve through its (snake_case) context; the app's JSON settings stay as they are.
        services.Configure<JsonOptions>(json => json.SerializerOptions.TypeInfoResolverChain.Add(JobkeeperJsonContext.Default));
        services.AddJobkeeperOpenApi();
        return services;
    }
}
