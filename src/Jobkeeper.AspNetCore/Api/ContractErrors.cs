using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Jobkeeper.Errors;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Turns what the JSON serializer refused in a request body into a problem that names the member (its path, as the
/// body spells it) and says what is expected there, from the contract type's own metadata. Only refused bodies come
/// here, so nothing in it is on the path of a good request.
/// </summary>
internal static partial class ContractErrors
{
    public static JobValidationException Explain(JsonException error, JsonTypeInfo root, ReadOnlySequence<byte> body)
    {
        var innermost = error;
        while (innermost.InnerException is JsonException inner)
        {
            innermost = inner;
        }

        // The reader's own exception type (internal to System.Text.Json) means the text is not JSON at all.
        if (innermost.GetType() != typeof(JsonException))
        {
            return new JobValidationException("body", $"is not valid JSON: {Reason(innermost.Message)} (line {(innermost.LineNumber ?? 0) + 1}, byte {innermost.BytePositionInLine ?? 0})");
        }

        var path = Segments(JsonPaths.Of(error));
        var message = innermost.Message;
        if (UnknownMember().Match(message) is { Success: true } unknown)
        {
            var known = Resolve(root, path.Length > 0 ? path[..^1] : path) is { Kind: JsonTypeInfoKind.Object } owner
                ? string.Join(", ", owner.Properties.Select(p => p.Name))
                : "";
            return new JobValidationException(Field(path), $"is not a known field; expected one of: {known}");
        }

        if (MissingRequired().Match(message) is { Success: true } missing)
        {
            var names = missing.Groups[1].Value.Split(", ").Select(n => n.Trim('\'')).ToArray();
            var owner = Resolve(root, path);
            var property = owner?.Properties.FirstOrDefault(p => p.Name == names[0]);
            return new JobValidationException(Field([.. path, names[0]]), property is null ? "is required" : Required(property));
        }

        if (message.StartsWith("Duplicate property", StringComparison.Ordinal))
        {
            // The body as a whole is at fault: either copy may be the one meant.
            return new JobValidationException("body", $"gives the member '{Field(path)}' more than once; give each member once");
        }

        if (innermost.InnerException is InvalidOperationException { Message: var text } && text.Contains("surrogate", StringComparison.OrdinalIgnoreCase))
        {
            return new JobValidationException(Field(path), "contains an invalid Unicode escape (a lone surrogate such as \\ud800)");
        }

        var expected = Resolve(root, path) is { } target ? Expected(target) : "a value of another kind";
        var sent = Find(body, path) is { } value ? ", not " + Describe(value) : "";
        return new JobValidationException(Field(path), $"must be {expected}{sent}");
    }

    /// <summary>The members of a path: <c>$.progress.fraction</c> is [progress, fraction], <c>$.types[2]</c> is [types, [2]].</summary>
    private static string[] Segments(string path)
    {
        var segments = new List<string>();
        foreach (Match m in PathSegment().Matches(path))
        {
            segments.Add(m.Groups["name"].Success ? m.Groups["name"].Value
                : m.Groups["quoted"].Success ? m.Groups["quoted"].Value
                : "[" + m.Groups["index"].Value + "]");
        }

        return [.. segments];
    }

    private static string Field(IReadOnlyList<string> path)
    {
        if (path.Count == 0)
        {
            return "body";
        }

        var field = new System.Text.StringBuilder();
        foreach (var segment in path)
        {
            if (field.Length > 0 && !segment.StartsWith('['))
            {
                field.Append('.');
            }

            field.Append(segment);
        }

        return field.ToString();
    }

    /// <summary>The contract type at <paramref name="path"/>, through objects' members, lists' items and dictionaries' values.</summary>
    private static JsonTypeInfo? Resolve(JsonTypeInfo root, IEnumerable<string> path)
    {
        var current = root;
        foreach (var segment in path)
        {
            Type? next = current.Kind switch
            {
                JsonTypeInfoKind.Object => current.Properties.FirstOrDefault(p => p.Name == segment)?.PropertyType,
                JsonTypeInfoKind.Enumerable or JsonTypeInfoKind.Dictionary => current.ElementType,
                _ => null,
            };
            if (next is null || Info(root, Unwrap(next)) is not { } info)
            {
                return null;
            }

            current = info;
        }

        return current;
    }

    private static JsonTypeInfo? Info(JsonTypeInfo root, Type type)
    {
        try
        {
            return root.Options.GetTypeInfo(type);
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    private static Type Unwrap(Type type)
    {
        type = Optional.ValueTypeOf(type) ?? type;
        return Nullable.GetUnderlyingType(type) ?? type;
    }

    /// <summary>What a required member that is missing (or null) is told: that it is required, and what it is.</summary>
    public static string Required(JsonPropertyInfo property) => "is required: " + Describe(property);

    private static string Describe(JsonPropertyInfo property) =>
        property.AttributeProvider?.GetCustomAttributes(typeof(System.ComponentModel.DescriptionAttribute), false)
            .OfType<System.ComponentModel.DescriptionAttribute>().FirstOrDefault()?.Description is { } description
            ? description.TrimEnd('.')
            : Expected(property.Options.GetTypeInfo(Unwrap(property.PropertyType)));

    private static string Expected(JsonTypeInfo info)
    {
        var type = Unwrap(info.Type);
        return info.Kind switch
        {
            JsonTypeInfoKind.Object => "a JSON object",
            JsonTypeInfoKind.Dictionary => $"a JSON object whose values are {Expected(info.Options.GetTypeInfo(info.ElementType!))}",
            JsonTypeInfoKind.Enumerable => $"an array of {Expected(info.Options.GetTypeInfo(info.ElementType!))}",
            _ when type == typeof(string) => "a string",
            _ when type == typeof(int) => $"a whole number from {int.MinValue} to {int.MaxValue}",
            _ when type == typeof(long) => "a whole number",
            _ when type == typeof(double) => "a number",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(DateTimeOffset) => "an ISO 8601 timestamp such as 2026-01-31T12:00:00Z",
            _ when type == typeof(JobStatus) => $"a status, one of: {JobStatusNames.ValidNames}",
            _ => "a value of another kind",
        };
    }

    /// <summary>The value the body holds at <paramref name="path"/>, when it can be found.</summary>
    private static JsonElement? Find(ReadOnlySequence<byte> body, IEnumerable<string> path)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var current = document.RootElement;
            foreach (var segment in path)
            {
                if (segment.StartsWith('[') && current.ValueKind == JsonValueKind.Array
                    && int.TryParse(segment.AsSpan(1, segment.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    && index < current.GetArrayLength())
                {
                    current = current[index];
                }
                else if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out var member))
                {
                    current = member;
                }
                else
                {
                    return null;
                }
            }

            return current.Clone();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

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

    /// <summary>The reader's reason without its position suffix (which is reported separately).</summary>
    private static string Reason(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '.', '|');
    }

    [GeneratedRegex(@"^The JSON property '.*' could not be mapped to any \.NET member", RegexOptions.Singleline)]
    private static partial Regex UnknownMember();

    [GeneratedRegex(@"missing required properties including: (.*?)\.?$", RegexOptions.Singleline)]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"\.(?<name>[^.\[\]']+)|\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>\d+)\]")]
    private static partial Regex PathSegment();
}
