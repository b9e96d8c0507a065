using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Jobkeeper.Model;

/// <summary>What a caller gives to create a job; everything but <see cref="Type"/> is optional.</summary>
public sealed record NewJob
{
    public required string Type { get; init; }
    /// <summary>Client-chosen id; a time-ordered UUIDv7 when absent.</summary>
    public string? Id { get; init; }
    public JsonElement? Input { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public int Priority { get; init; }
    public DateTimeOffset? RunAt { get; init; }
    public int? MaxAttempts { get; init; }

    /// <summary>
    /// This job with <paramref name="input"/> as its input: serialised with <paramref name="typeInfo"/> when given
    /// (source-generated JSON), else as the API and handlers write JSON by default (web defaults, snake_case names).
    /// </summary>
    public NewJob WithInput<T>(T input, JsonTypeInfo<T>? typeInfo = null) => WithInput(input, typeInfo, DefaultInputOptions);

    internal NewJob WithInput<T>(T input, JsonTypeInfo<T>? typeInfo, JsonSerializerOptions options) => this with
    {
        Input = typeInfo is null ? JsonSerializer.SerializeToElement(input, options) : JsonSerializer.SerializeToElement(input, typeInfo),
    };

    /// <summary>The same as the default of <see cref="Workers.JobWorkerOptions.SerializerOptions"/>, so a handler reads back what was written.</summary>
    internal static JsonSerializerOptions DefaultInputOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
