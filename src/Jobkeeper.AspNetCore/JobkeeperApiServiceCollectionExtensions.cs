using Jobkeeper.AspNetCore.Api;
using Microsoft.AspNetCore.Http.Json;

namespace Microsoft.Extensions.DependencyInjection;

public static class JobkeeperApiServiceCollectionExtensions
{
    /// <summary>
    /// Optional settings of the HTTP API, plus problem details for the app's other errors and snake_case
    /// JSON for generated OpenAPI documents. <c>MapJobkeeper()</c> works without it, on defaults.
    /// </summary>
    public static IServiceCollection AddJobkeeperApi(this IServiceCollection services, Action<Jobkeeper.AspNetCore.JobkeeperApiOptions>? configure = null)
    {
        var options = services.AddOptions<Jobkeeper.AspNetCore.JobkeeperApiOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddProblemDetails();
        services.Configure<JsonOptions>(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        return services;
    }
}
