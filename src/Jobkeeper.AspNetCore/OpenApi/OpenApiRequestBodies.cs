using Jobkeeper.AspNetCore.Api;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// Documents the JSON bodies that Jobkeeper endpoints parse themselves (see <see cref="JsonRequestBodyMetadata"/>): a
/// named component schema per body type, required, with the operation's example from <see cref="OpenApiExamples"/>.
/// </summary>
internal sealed class OpenApiRequestBodies : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonRequestBodyMetadata>().FirstOrDefault();
        if (metadata is null)
        {
            return;
        }

        var name = metadata.BodyType.Name;
        var document = context.Document!;
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        if (!document.Components.Schemas.ContainsKey(name))
        {
            var schema = await context.GetOrCreateSchemaAsync(metadata.BodyType, null, cancellationToken).ConfigureAwait(false);
            document.AddComponent<IOpenApiSchema>(name, schema);
        }

        operation.RequestBody = new OpenApiRequestBody
        {
            Required = !metadata.IsOptional,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new()
                {
                    Schema = new OpenApiSchemaReference(name, document),
                    Example = operation.OperationId is { } id ? OpenApiExamples.Body(id) : null,
                },
            },
        };
    }
}
