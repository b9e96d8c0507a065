using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// Integers are <c>integer</c> and numbers <c>number</c> in Jobkeeper's schemas. The web JSON defaults read numbers from
/// strings too, so the generated schema of a nullable number says <c>integer | string</c> with a pattern; Jobkeeper's
/// parsers never accept a number in a string (and it writes numbers as numbers), so the alternative is removed.
/// </summary>
internal sealed class OpenApiStrictNumbers : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var owner = context.JsonPropertyInfo?.DeclaringType ?? context.JsonTypeInfo.Type;
        if (IsJobkeeperWire(owner))
        {
            Strict(schema, depth: 0);
        }

        return Task.CompletedTask;
    }

    /// <summary>The schema, and the values and items under it (a dictionary's numbers are not a property of their own).</summary>
    internal static void Strict(OpenApiSchema schema, int depth = 0)
    {
        if (schema.Type is { } type && (type & JsonSchemaType.String) != 0 && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (depth < 4)
        {
            if (schema.AdditionalProperties is OpenApiSchema values)
            {
                Strict(values, depth + 1);
            }

            if (schema.Items is OpenApiSchema items)
            {
                Strict(items, depth + 1);
            }

            foreach (var member in schema.Properties?.Values.OfType<OpenApiSchema>() ?? [])
            {
                Strict(member, depth + 1);
            }
        }
    }

    /// <summary>Jobkeeper's own types, and the problem details it answers with.</summary>
    private static bool IsJobkeeperWire(Type type) =>
        type.Namespace?.StartsWith("Jobkeeper", StringComparison.Ordinal) == true
        || type == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails)
        || type == typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails);
}
