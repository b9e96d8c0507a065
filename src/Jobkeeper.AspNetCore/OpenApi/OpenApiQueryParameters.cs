using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>Declares the query parameters an endpoint reads itself (see <see cref="QueryParameterMetadata"/>).</summary>
internal sealed class OpenApiQueryParameters : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var parameter in context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryParameterMetadata>())
        {
            IOpenApiSchema? items = null;
            if (parameter.ItemType is { } itemType && context.Document is { } document)
            {
                document.Components ??= new OpenApiComponents();
                document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
                if (!document.Components.Schemas.ContainsKey(itemType.Name))
                {
                    document.AddComponent(itemType.Name, (IOpenApiSchema)await context.GetOrCreateSchemaAsync(itemType, null, cancellationToken).ConfigureAwait(false));
                }

                items = new OpenApiSchemaReference(itemType.Name, document);
            }

            operation.Parameters ??= [];
            operation.Parameters.Add(parameter.ToParameter(items));
        }
    }
}
