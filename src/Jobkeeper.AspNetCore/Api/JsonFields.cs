using System.Globalization;
using System.Text.Json;
using Jobkeeper.Errors;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Typed reads of one JSON member, each failing with the member's name and what was expected.</summary>
internal static class JsonFields
{
    /// <summary>
    /// How deep free-form JSON (input, result, details, checkpoint, answers, schemas) may nest. It is written
    /// back inside responses a few levels deep (a job in a list, a prompt's answer in a job), and readers,
    /// this server's writer included, stop at 64 levels: half of that leaves the envelope room.
    /// </summary>
    public const int MaxFreeFormDepth = 32;

    public static void EnsureObject(JsonElement element, string field)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new JobValidationException(field, $"must be a JSON object, not {Describe(element)}");
        }
    }

    public static void RejectUnknown(JsonElement obj, string prefix, IReadOnlyCollection<string> known)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                throw new JobValidationException(prefix + property.Name,
                    $"is not a known field; expected one of: {string.Join(", ", known)}");
            }
        }
    }

    public static string String(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw new JobValidationException(field, $"must be a string, not {Describe(value)}");
        }

        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new JobValidationException(field, "contains an invalid Unicode escape (a lone surrogate)");
        }
    }

    /// <summary>
    /// Any JSON, copied out of the request. Every string and name is decoded once so that text that
    /// cannot become a .NET string (lone surrogate escapes) is refused now, not when the job is read;
    /// and it may nest at most <see cref="MaxFreeFormDepth"/> levels, so that every response holding it can be written.
    /// </summary>
    public static JsonElement FreeForm(JsonElement value, string field)
    {
        EnsureReadable(value, field, 0);
        return value.Clone();
    }

    private static void EnsureReadable(JsonElement value, string field, int depth)
    {
        if (value.ValueKind is JsonValueKind.Array or JsonValueKind.Object && ++depth > MaxFreeFormDepth)
        {
            throw new JobValidationException(field, $"nests arrays and objects more than {MaxFreeFormDepth} levels deep; flatten it");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                String(value, field);
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    EnsureReadable(item, field, depth);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    try
                    {
                        _ = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw new JobValidationException(field, "contains a member name with an invalid Unicode escape (a lone surrogate)");
                    }

                    EnsureReadable(property.Value, field, depth);
                }

                break;
        }
    }

    public static string? NullableString(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Null ? null : String(value, field);

    public static int Int32(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw new JobValidationException(field, $"must be a whole number from {int.MinValue} to {int.MaxValue}, not {Describe(value)}");

    public static bool Boolean(JsonElement value, string field) =>
        value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new JobValidationException(field, $"must be true or false, not {Describe(value)}"),
        };

    public static long? NullableInt64(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number
        : throw new JobValidationException(field, $"must be a whole number or null, not {Describe(value)}");

    /// <summary>A finite number: a literal beyond the range of a double (1e999) reads as infinity and is refused here.</summary>
    public static double? NullableDouble(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number) ? number
        : throw new JobValidationException(field, $"must be a number or null, not {Describe(value)}");

    /// <summary>
    /// A number of seconds from 0 (when <paramref name="zeroAllowed"/>; else more than 0) to <paramref name="max"/>,
    /// checked before it becomes a <see cref="TimeSpan"/>: JSON numbers reach 1e308, a TimeSpan overflows near 1e13 seconds.
    /// </summary>
    public static TimeSpan? NullableSeconds(JsonElement value, string field, TimeSpan max, bool zeroAllowed)
    {
        if (NullableDouble(value, field) is not { } seconds)
        {
            return null;
        }

        var inRange = (zeroAllowed ? seconds >= 0 : seconds > 0) && seconds <= max.TotalSeconds;
        return inRange
            ? TimeSpan.FromSeconds(seconds)
            : throw new JobValidationException(field, zeroAllowed
                ? $"must be between 0 and {max.TotalSeconds:0}"
                : $"must be more than 0 and at most {max.TotalSeconds:0}");
    }

    public static DateTimeOffset Timestamp(JsonElement value, string field)
    {
        var text = String(value, field);
        return ParseTimestamp(text, field);
    }

    public static DateTimeOffset ParseTimestamp(string text, string field) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw new JobValidationException(field, $"must be an ISO 8601 timestamp such as 2026-01-31T12:00:00Z, not '{Shorten(text)}'");

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string {Shorten(value.GetRawText())}",
        JsonValueKind.Number => $"the number {Shorten(value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    public static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "…";
}
