using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Jobkeeper.Contracts;

namespace Jobkeeper.Json;

/// <summary>Reads an error given as an object or as just its message (<c>"error": "timed out"</c>); writes the object.</summary>
public sealed class ErrorOrMessageJsonConverter : JsonConverter<JobErrorInput>
{
    public override JobErrorInput? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return new JobErrorInput { Message = reader.GetString()! };
        }

        try
        {
            return JsonSerializer.Deserialize(ref reader, (JsonTypeInfo<JobErrorInput>)options.GetTypeInfo(typeof(JobErrorInput)));
        }
        catch (JsonException ex)
        {
            throw JsonPaths.Relocate(ex);
        }
    }

    public override void Write(Utf8JsonWriter writer, JobErrorInput value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, (JsonTypeInfo<JobErrorInput>)options.GetTypeInfo(typeof(JobErrorInput)));
}
