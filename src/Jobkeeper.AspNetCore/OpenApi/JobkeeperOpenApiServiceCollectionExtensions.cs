using Jobkeeper.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.OpenApi;

namespace Microsoft.Extensions.DependencyInjection;

public static class JobkeeperOpenApiServiceCollectionExtensions
{
    /// <summary>
    /// Adds the OpenAPI document <paramref name="documentName"/> (<c>/openapi/v1.json</c> once <c>MapJobkeeper()</c> maps
    /// it) with Jobkeeper's routes fully described: query parameters, named body schemas with ranges and examples,
    /// and the API key security schemes. Called by <c>AddJobkeeperApi()</c>; the app's own endpoints join the same
    /// document, and <paramref name="configure"/> may add the app's transformers.
    /// </summary>
    public static IServiceCollection AddJobkeeperOpenApi(this IServiceCollection services, string documentName = "v1",
        Action<OpenApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(JobkeeperOpenApiMarker) && d.ImplementationInstance is JobkeeperOpenApiMarker m
                && m.DocumentName == documentName))
        {
            return services;
        }

        services.AddSingleton(new JobkeeperOpenApiMarker(documentName));
        services.AddOpenApi(documentName, options =>
        {
            options.AddJobkeeperTransformers();
            configure?.Invoke(options);
        });
        // First in the chain, so Jobkeeper's types are described as the API writes them whatever the app's JSON settings.
        services.Configure<JsonOptions>(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, new OpenApiJsonTypes()));
        return services;
    }

    /// <summary>The transformers that describe Jobkeeper's routes, for an app that builds its own <c>AddOpenApi</c> document.</summary>
    public static OpenApiOptions AddJobkeeperTransformers(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddDocumentTransformer((document, context, _) =>
        {
            // The default title is "<application> | <document>"; an app that set its own keeps it.
            document.Info ??= new OpenApiInfo();
            if (string.IsNullOrEmpty(document.Info.Title) || document.Info.Title.EndsWith(" | " + context.DocumentName, StringComparison.Ordinal))
            {
                document.Info.Title = "Jobkeeper API";
                document.Info.Description = "Durable jobs over HTTP: create, track, update and clean up long-running work.";
            }

            return Task.CompletedTask;
        });
        var security = new OpenApiSecuritySchemes();
        options.AddDocumentTransformer(security);
        options.AddOperationTransformer(security);
        options.AddSchemaTransformer(new OpenApiStrictNumbers());
        options.AddSchemaTransformer(new OpenApiStringEnums());
        options.AddSchemaTransformer(new OpenApiOptionalMembers());
        options.AddOperationTransformer(new OpenApiRequestBodies());
        options.AddOperationTransformer(new OpenApiQueryParameters());
        options.AddOperationTransformer(new OpenApiPathParameters());
        options.AddOperationTransformer(new OpenApiActorHeaders());
        options.AddOperationTransformer(new OpenApiIdempotencyKey());
        return options;
    }
}
