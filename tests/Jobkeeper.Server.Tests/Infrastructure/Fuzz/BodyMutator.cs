using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>
/// A JSON body for an operation: a plausible one from its schema, then one mutation (wrong types, extreme numbers,
/// missing and extra fields, deep nesting, huge strings, awkward Unicode, broken syntax, another content type).
/// Values JSON allows but <see cref="JsonNode"/> cannot hold (1e999, a lone surrogate escape) go in as placeholders
/// and are written raw after serialisation.
/// </summary>
public sealed class BodyMutator(SchemaValues values)
{
    /// <summary>The longest a fuzzed claim may wait for work (the API allows 30 s): the run stays fast.</summary>
    private const double MaxWaitSeconds = 0.25;

    private static readonly (string Name, int Weight)[] Mutations =
    [
        ("valid", 12), ("wrong-type", 14), ("extreme-number", 14), ("null-field", 5), ("missing-required", 5), ("extra-field", 6),
        ("deep-nesting", 8), ("huge-string", 4), ("unicode", 10), ("lone-surrogate", 3), ("malformed", 9), ("content-type", 4), ("many-members", 2),
    ];

    private static readonly string[] ContentTypes =
        ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1", "multipart/form-data; boundary=x", "application/xml"];

    private static readonly int[] Depths = [2, 16, 31, 32, 33, 40, 62, 63, 64, 65, 100, 1000];

    public (byte[] Body, string? ContentType) Create(JsonElement schema, Random random, List<string> applied, string? token = null)
    {
        var raw = new List<string>();
        var root = values.Valid(schema, null, random, token) ?? new JsonObject();
        var mutation = Pick(random);
        applied.Add(mutation);
        string? contentType = "application/json";
        switch (mutation)
        {
            case "wrong-type":
                Replace(root, random, applied, (slot, _) => WrongType(slot, random, raw));
                break;
            case "extreme-number":
                Replace(root, random, applied, (_, field) => Raw(raw, SafeNumber(field, HostileValues.Numbers[random.Next(HostileValues.Numbers.Length)])),
                    preferNumbers: true);
                break;
            case "null-field":
                Replace(root, random, applied, (_, _) => null);
                break;
            case "missing-required":
                RemoveRequired(root, schema, random, applied);
                break;
            case "extra-field" when root is JsonObject extra:
                var name = random.Next(3) == 0 ? HostileValues.Unicode[random.Next(HostileValues.Unicode.Length)] : "unexpected_" + random.Next(10);
                extra[name] = JsonValue.Create(1);
                applied.Add(name);
                break;
            case "deep-nesting":
                var depth = Depths[random.Next(Depths.Length)];
                applied.Add("depth " + depth);
                if (random.Next(4) == 0)
                {
                    var nestedBody = Serialize(root, raw, random);
                    return (Encoding.UTF8.GetBytes(new string('[', depth) + nestedBody + new string(']', depth)), contentType);
                }

                Replace(root, random, applied, (_, _) => Raw(raw, HostileValues.Nested(depth, random)));
                break;
            case "huge-string":
                var length = random.Next(20) switch
                {
                    0 => 1_100_000, // Over the 1 MiB body limit.
                    < 6 => random.Next(50_000, 300_000),
                    _ => random.Next(1_000, 20_000),
                };
                applied.Add("length " + length);
                Replace(root, random, applied, (_, _) => JsonValue.Create(HostileValues.Long(length, random)), preferStrings: true);
                break;
            case "unicode":
                var text = HostileValues.Unicode[random.Next(HostileValues.Unicode.Length)];
                Replace(root, random, applied, (_, _) => JsonValue.Create(text), preferStrings: true);
                break;
            case "lone-surrogate":
                Replace(root, random, applied, (_, _) => JsonValue.Create("a" + HostileValues.LoneSurrogate + "b"), preferStrings: true);
                break;
            case "many-members":
                Replace(root, random, applied, (_, _) => Raw(raw, random.Next(2) == 0
                    ? "{" + string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"\"m{i}\":{i}")) + "}"
                    : "[" + string.Join(",", Enumerable.Repeat("0", 100_000)) + "]"));
                break;
            case "content-type":
                contentType = random.Next(6) == 0 ? null : ContentTypes[random.Next(ContentTypes.Length)];
                applied.Add(contentType ?? "no content type");
                break;
        }

        CapWait(root);
        var json = Serialize(root, raw, random);
        return mutation == "malformed" ? (Malformed(json, random, applied), contentType) : (Encoding.UTF8.GetBytes(json), contentType);
    }

    /// <summary>A small body for an operation that takes none: it must be ignored or refused, never a 5xx.</summary>
    public static byte[] Unexpected(Random random) =>
        Encoding.UTF8.GetBytes(random.Next(3) switch { 0 => "{}", 1 => "{\"lease_token\":\"x\"}", _ => "not json" });

    private static string Pick(Random random)
    {
        var roll = random.Next(Mutations.Sum(m => m.Weight));
        foreach (var (name, weight) in Mutations)
        {
            if ((roll -= weight) < 0)
            {
                return name;
            }
        }

        return "valid";
    }

    /// <summary>Replaces one member (at any level of the body's objects) with what <paramref name="make"/> gives for it.</summary>
    private void Replace(JsonNode root, Random random, List<string> applied, Func<JsonNode?, string, JsonNode?> make, bool preferNumbers = false,
        bool preferStrings = false)
    {
        var slots = new List<(JsonObject Parent, string Name)>();
        Collect(root, slots, 0);
        if (slots.Count == 0)
        {
            return;
        }

        var preferred = slots.Where(s => (preferNumbers && s.Parent[s.Name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
            || (preferStrings && s.Parent[s.Name] is JsonValue t && t.GetValueKind() == JsonValueKind.String)).ToList();
        var (parent, name) = preferred.Count > 0 && random.Next(4) > 0 ? preferred[random.Next(preferred.Count)] : slots[random.Next(slots.Count)];
        applied.Add(name);
        parent[name] = make(parent[name], name);
    }

    private static void Collect(JsonNode? node, List<(JsonObject, string)> slots, int depth)
    {
        if (node is JsonObject obj && depth < 4)
        {
            foreach (var (name, child) in obj.ToList())
            {
                slots.Add((obj, name));
                Collect(child, slots, depth + 1);
            }
        }
        else if (node is JsonArray array && depth < 4)
        {
            foreach (var item in array)
            {
                Collect(item, slots, depth + 1);
            }
        }
    }

    private void RemoveRequired(JsonNode root, JsonElement schema, Random random, List<string> applied)
    {
        if (root is not JsonObject obj)
        {
            return;
        }

        var required = values.Members(schema).Required.Where(obj.ContainsKey).ToList();
        if (required.Count == 0 || random.Next(5) == 0)
        {
            obj.Clear();
            applied.Add("empty object");
            return;
        }

        var name = required[random.Next(required.Count)];
        obj.Remove(name);
        applied.Add(name);
    }

    private static JsonNode? WrongType(JsonNode? current, Random random, List<string> raw)
    {
        var kind = current?.GetValueKind() ?? JsonValueKind.Null;
        var options = new List<Func<JsonNode?>>
        {
            () => JsonValue.Create("a string"),
            () => JsonValue.Create(7),
            () => JsonValue.Create(true),
            () => new JsonArray(1, "two"),
            () => new JsonObject { ["nested"] = 1 },
            () => Raw(raw, "\"12\""),
            () => Raw(raw, "\"\""),
        };
        while (true)
        {
            var candidate = options[random.Next(options.Count)]();
            if (candidate?.GetValueKind() != kind || random.Next(4) == 0)
            {
                return candidate;
            }
        }
    }

    /// <summary>No fuzzed claim waits long: a wait inside the API's range but over <see cref="MaxWaitSeconds"/> is shortened.</summary>
    private static string SafeNumber(string field, string literal) =>
        field == "wait_seconds" && double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            && seconds > MaxWaitSeconds && seconds <= 30
            ? MaxWaitSeconds.ToString(CultureInfo.InvariantCulture)
            : literal;

    private static void CapWait(JsonNode root)
    {
        if (root is JsonObject obj && obj["wait_seconds"] is JsonValue wait && wait.GetValueKind() == JsonValueKind.Number
            && double.Parse(wait.ToJsonString(), CultureInfo.InvariantCulture) > MaxWaitSeconds)
        {
            obj["wait_seconds"] = MaxWaitSeconds;
        }
    }

    private static JsonNode Raw(List<string> raw, string json)
    {
        raw.Add(json);
        return JsonValue.Create($"@@raw{raw.Count - 1}@@");
    }

    private static string Serialize(JsonNode root, List<string> raw, Random random)
    {
        // Unicode as raw UTF-8 or as \u escapes: the reader must take both.
        var options = new JsonSerializerOptions { Encoder = random.Next(2) == 0 ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default };
        var json = new StringBuilder(root.ToJsonString(options));
        for (var i = raw.Count - 1; i >= 0; i--)
        {
            json.Replace($"\"@@raw{i}@@\"", raw[i]);
        }

        return json.Replace(HostileValues.LoneSurrogate, "\\ud800").ToString();
    }

    private static byte[] Malformed(string json, Random random, List<string> applied)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var choice = random.Next(12);
        applied.Add("malformed " + choice);
        return choice switch
        {
            0 => bytes[..random.Next(0, Math.Max(1, bytes.Length - 1))],
            1 => [.. bytes, .. "}}"u8],
            2 => [.. bytes, .. ",{}"u8],
            3 => Encoding.UTF8.GetBytes(new[] { "", "null", "[]", "\"text\"", "123", "{", "}", "{\"a\":}", "{'a':1}", "{a:1}", "true" }[random.Next(11)]),
            4 => Encoding.UTF8.GetBytes(json.Replace("}", ",}", StringComparison.Ordinal)),
            5 => Encoding.UTF8.GetBytes("/* comment */" + json),
            6 => [0xEF, 0xBB, 0xBF, .. bytes],
            7 => json.Length > 2 ? Encoding.UTF8.GetBytes("{" + FirstMember(json) + "," + json[1..]) : bytes,
            8 => InsertIntoString(bytes, [0xFF, 0xFE]),
            9 => InsertIntoString(bytes, [0xC0, 0xAF]),
            10 => InsertIntoString(bytes, [0xED, 0xA0, 0x80]),
            _ => Encoding.UTF8.GetBytes(json.Replace(":1", ":NaN", StringComparison.Ordinal).Replace(":0", ":Infinity", StringComparison.Ordinal)),
        };
    }

    /// <summary>The first member of an object's JSON text (to repeat it: a duplicate member).</summary>
    private static string FirstMember(string json)
    {
        const string Fallback = "\"dup\":1,\"dup\":2";
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.EnumerateObject().Any())
            {
                return Fallback;
            }

            var first = document.RootElement.EnumerateObject().First();
            return JsonSerializer.Serialize(first.Name) + ":" + first.Value.GetRawText();
        }
        catch (JsonException)
        {
            return Fallback;
        }
    }

    /// <summary>Invalid UTF-8 inside the first string of the body (or at its start when it has none).</summary>
    private static byte[] InsertIntoString(byte[] body, byte[] insert)
    {
        var quote = Array.IndexOf(body, (byte)'"');
        var at = quote >= 0 ? quote + 1 : 0;
        return [.. body[..at], .. insert, .. body[at..]];
    }
}
