using Jobkeeper.AspNetCore.Api;
using Jobkeeper.Model;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>Documents the <c>X-Actor</c> and <c>X-Reason</c> headers of the routes that record who asked for a change and why.</summary>
internal sealed class OpenApiActorHeaders : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<ActorHeadersMetadata>().Any())
        {
            return Task.CompletedTask;
        }

        operation.Parameters ??= [];
        operation.Parameters.Add(Header(ActorHeadersMetadata.ActorHeader, JobLimits.MaxActorNameLength,
            "Who asks. Behind API keys the key's name is the actor and this is recorded beside it as `display_name`; "
            + "without keys it names the actor. UTF-8, percent-encoded where not ASCII."));
        operation.Parameters.Add(Header(ActorHeadersMetadata.ReasonHeader, JobLimits.MaxReasonLength,
            "Why, recorded as `reason` on the change's events. UTF-8, percent-encoded where not ASCII."));
        return Task.CompletedTask;
    }

    private static OpenApiParameter Header(string name, int maxLength, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Header,
        Required = false,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = maxLength },
    };
}
