using Jobkeeper.AspNetCore.Api;
using Jobkeeper.Model;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>Documents the <c>Idempotency-Key</c> request header of a create and the 200 that answers a duplicate.</summary>
internal sealed class OpenApiIdempotencyKey : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IdempotencyKeyMetadata>().FirstOrDefault() is not { } metadata)
        {
            return Task.CompletedTask;
        }

        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = IdempotencyKey.Header,
            In = ParameterLocation.Header,
            Required = false,
            Description = "Makes the create idempotent: a create with a key used within the server's window (a day by default) answers 200 "
                + "with the job it made, whatever its status, and `" + IdempotencyKey.ExistingHeader + ": true`. The same as `unique_key` "
                + "with that window and every status; send one or the other.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = JobLimits.MaxUniqueKeyLength },
        });
        if (operation.Responses?.TryGetValue("200", out var existing) == true && existing is OpenApiResponse response)
        {
            response.Description = metadata.ExistingDescription;
            response.Headers ??= new Dictionary<string, IOpenApiHeader>();
            response.Headers[IdempotencyKey.ExistingHeader] = new OpenApiHeader
            {
                Description = "`true`: nothing was added; the body is the existing job (also `existing: true`).",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [System.Text.Json.Nodes.JsonValue.Create("true")] },
            };
        }

        return Task.CompletedTask;
    }
}

/// <summary>Marks a create route that takes <c>Idempotency-Key</c> and answers a duplicate with 200.</summary>
public sealed class IdempotencyKeyMetadata
{
    public static IdempotencyKeyMetadata Instance { get; } = new();

    public string ExistingDescription => "A job with the create's `unique_key` (or `Idempotency-Key`) blocked a new one, or a debounce folded into it: "
        + "that job, as it is now. Nothing was added.";

    private IdempotencyKeyMetadata()
    {
    }
}
