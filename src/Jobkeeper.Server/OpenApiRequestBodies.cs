using Jobkeeper.AspNetCore.Api;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.Server;

/// <summary>Documents the JSON bodies that Jobkeeper endpoints parse themselves (see <see cref="JsonRequestBodyMetadata"/>).</summary>
internal sealed class OpenApiRequestBodies : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonRequestBodyMetadata>().FirstOrDefault();
        if (metadata is null)
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(metadata.BodyType, null, cancellationToken).ConfigureAwait(false);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
        };
    }
}
