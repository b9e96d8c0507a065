using System.Text.Json.Serialization;
using Jobkeeper.Json;

namespace Jobkeeper.Model;

/// <summary>
/// A value that may be absent, as distinct from present-and-null (JSON merge patch needs both). In JSON an absent
/// member reads as no value and a member given (null included) as that value; a member of this type is written only
/// when it has a value (mark it <c>[JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]</c>).
/// </summary>
[JsonConverter(typeof(OptionalJsonConverterFactory))]
public readonly record struct Optional<T>(bool HasValue, T Value) : IOptional
{
    public static implicit operator Optional<T>(T value) => new(true, value);

    public T GetValueOrDefault(T fallback) => HasValue ? Value : fallback;

    object? IOptional.Value => Value;
}

/// <summary>An <see cref="Optional{T}"/> read without knowing its value's type (checks that walk a request's members).</summary>
public interface IOptional
{
    bool HasValue { get; }

    object? Value { get; }
}

public static class Optional
{
    /// <summary>The <c>T</c> of an <see cref="Optional{T}"/> type; null for any other type.</summary>
    public static Type? ValueTypeOf(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Optional<>) ? type.GetGenericArguments()[0] : null;
    }
}
