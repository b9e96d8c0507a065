using System.ComponentModel;
using System.Reflection;
using Jobkeeper.Model;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// A merge-patch member (<see cref="Optional{T}"/>) is on the wire just its value, or absent; its own converter hides
/// that from the schema generator, which would describe it as anything. It is described as its value's schema,
/// nullable (null clears the member), with the member's description.
/// </summary>
internal sealed class OpenApiOptionalMembers : IOpenApiSchemaTransformer
{
    public async Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is not { } property || Optional.ValueTypeOf(property.PropertyType) is not { } valueType)
        {
            return;
        }

        var value = await context.GetOrCreateSchemaAsync(valueType, null, cancellationToken).ConfigureAwait(false);
        if (value is OpenApiSchema inline)
        {
            schema.Type = inline.Type is { } type ? type | JsonSchemaType.Null : null;
            schema.Format ??= inline.Format;
            schema.Properties = inline.Properties;
            schema.Required = inline.Required;
            schema.AdditionalProperties = inline.AdditionalProperties;
            schema.AdditionalPropertiesAllowed = inline.AdditionalPropertiesAllowed;
            schema.Items = inline.Items;
            schema.Enum = inline.Enum;
            schema.Description ??= inline.Description;
        }
        else
        {
            schema.OneOf = [value, new OpenApiSchema { Type = JsonSchemaType.Null }];
        }

        // The value's schema was made apart from its member, so it still allows numbers in strings: the API never does.
        OpenApiStrictNumbers.Strict(schema);
        schema.Description = (property.AttributeProvider as MemberInfo)?.GetCustomAttribute<DescriptionAttribute>()?.Description ?? schema.Description;
    }
}
