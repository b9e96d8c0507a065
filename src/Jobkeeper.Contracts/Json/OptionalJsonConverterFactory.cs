using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Jobkeeper.Model;

namespace Jobkeeper.Json;

/// <summary>Reads and writes <see cref="Optional{T}"/> as its value: a member that is there, null included, has a value.</summary>
public sealed class OptionalJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => Optional.ValueTypeOf(typeToConvert) is not null;

    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Optional<T> members are declared in the contract, whose value types its JSON context lists.")]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "As above.")]
    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(OptionalJsonConverter<>).MakeGenericType(Optional.ValueTypeOf(typeToConvert)!))!;

    private sealed class OptionalJsonConverter<T> : JsonConverter<Optional<T>>
    {
        // A null in the JSON is a value too ("clear this member"), so it must reach Read.
        public override bool HandleNull => true;

        public override Optional<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            try
            {
                return new(true, JsonSerializer.Deserialize(ref reader, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)))!);
            }
            catch (JsonException ex)
            {
                // The value was read on its own, so the error's path starts at it; the serializer around this converter
                // sets the path of the member, and JsonPaths.Of joins the two.
                throw JsonPaths.Relocate(ex);
            }
        }

        public override void Write(Utf8JsonWriter writer, Optional<T> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Value, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
    }
}
