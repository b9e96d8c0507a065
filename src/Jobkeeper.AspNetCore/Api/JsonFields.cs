using System.Globalization;
using System.Text.Json;
using Jobkeeper.Errors;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Typed reads of one JSON member, each failing with the member's name and what was expected.</summary>
internal static class JsonFields
{
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
    /// cannot become a .NET string (lone surrogate escapes) is refused now, not when the job is read.
    /// </summary>
    public static JsonElement FreeForm(JsonElement value, string field)
    {
        EnsureDecodable(value, field);
        return value.Clone();
    }

    private static void EnsureDecodable(JsonElement value, string field)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                String(value, field);
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    EnsureDecodable(item, field);
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

                    EnsureDecodable(property.Value, field);
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

    public static double? NullableDouble(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) ? number
        : throw new JobValidationException(field, $"must be a number or null, not {Describe(value)}");

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
