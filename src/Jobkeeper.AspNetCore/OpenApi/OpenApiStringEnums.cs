using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// Jobkeeper's enums (the job status) are written as their names, so their schema says <c>type: string</c> beside the
/// names; without it a generated client reads them as numbers and fails on the first job.
/// </summary>
internal sealed class OpenApiStringEnums : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = Nullable.GetUnderlyingType(context.JsonTypeInfo.Type) ?? context.JsonTypeInfo.Type;
        if (type.IsEnum && type.Namespace?.StartsWith("Jobkeeper", StringComparison.Ordinal) == true && schema.Enum is { Count: > 0 } && schema.Type is null)
        {
            schema.Type = JsonSchemaType.String;
        }

        return Task.CompletedTask;
    }
}
