using System.Text.Json;

namespace Jobkeeper.Example;

/// <summary>One JSON convention for everything the example writes: snake_case like the Jobkeeper API.</summary>
public static class ExampleJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public static JsonElement ToElement<T>(T value) => JsonSerializer.SerializeToElement(value, Options);
}
