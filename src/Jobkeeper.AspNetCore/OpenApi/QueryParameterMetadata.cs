using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// Endpoint metadata, for API documents only: one query parameter the handler reads itself (the handlers parse the
/// query by hand so every refusal is a problem naming the field; this says what those parsers accept).
/// </summary>
public sealed record QueryParameterMetadata(string Name, string Description)
{
    public JsonSchemaType Type { get; init; } = JsonSchemaType.String;
    public string? Format { get; init; }
    public long? Minimum { get; init; }
    public long? Maximum { get; init; }
    public int? MaxLength { get; init; }
    public string? Pattern { get; init; }
    /// <summary>The allowed values of a string, or of each item of an array.</summary>
    public IReadOnlyList<string>? Enum { get; init; }
    /// <summary>
    /// For arrays: the type whose named schema each item is (e.g. the job status), so a generated client uses that
    /// type rather than an anonymous enum of its own.
    /// </summary>
    public Type? ItemType { get; init; }
    public long? Default { get; init; }
    public JsonNode? Example { get; init; }

    internal OpenApiParameter ToParameter(IOpenApiSchema? itemSchema = null)
    {
        var schema = new OpenApiSchema
        {
            Type = Type,
            Format = Format,
            Minimum = Minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Maximum = Maximum?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            MaxLength = MaxLength,
            Pattern = Pattern,
            Default = Default is { } d ? JsonValue.Create(d) : null,
        };
        if (itemSchema is not null)
        {
            schema.Items = itemSchema;
        }
        else if (Enum is { } values)
        {
            var target = schema;
            if (Type == JsonSchemaType.Array)
            {
                target = new OpenApiSchema { Type = JsonSchemaType.String };
                schema.Items = target;
            }

            target.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
        }
        else if (Type == JsonSchemaType.Array)
        {
            schema.Items = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = Pattern };
            schema.Pattern = null;
        }

        var parameter = new OpenApiParameter
        {
            Name = Name,
            In = ParameterLocation.Query,
            Required = false,
            Description = Description,
            Schema = schema,
            Example = Example,
        };
        if (Type == JsonSchemaType.Array)
        {
            // Arrays are sent as the parameter repeated (status=a&status=b), which the parsers accept beside commas.
            parameter.Style = ParameterStyle.Form;
            parameter.Explode = true;
        }

        return parameter;
    }
}
