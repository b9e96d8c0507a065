using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>
/// Plausible JSON for a schema of the OpenAPI document: the shape the document gives, filled with values a client
/// would send (real job ids and lease tokens, small numbers in range) so that a mutated request gets past the first
/// check and exercises the ones behind it. The document only says "number" or "string"; the ranges come from the
/// field names (docs/api.md), and every wait is kept short so no request holds a worker for long.
/// </summary>
public sealed class SchemaValues(JsonElement document, FuzzFixtures fixtures)
{
    /// <param name="token">The lease token to use, when the request names that token's job.</param>
    public JsonNode? Valid(JsonElement schema, string? field, Random random, string? token = null, int depth = 0)
    {
        schema = Resolve(schema);
        if (schema.TryGetProperty("oneOf", out var oneOf) || schema.TryGetProperty("anyOf", out oneOf))
        {
            var options = oneOf.EnumerateArray().Select(Resolve).Where(s => !IsNullOnly(s)).ToList();
            return options.Count == 0 ? null : Valid(options[random.Next(options.Count)], field, random, token, depth);
        }

        if (schema.TryGetProperty("enum", out var values))
        {
            var names = values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList();
            return names.Count == 0 ? null : JsonValue.Create(names[random.Next(names.Count)]);
        }

        var types = Types(schema);
        if (field is not null && Known(field, random, token) is { } known)
        {
            return known;
        }

        if (types.Count == 0)
        {
            return AnyJson(random, depth);
        }

        // Integers and numbers first: the document offers a string beside them only as an alternative spelling.
        var type = types.Contains("integer") ? "integer" : types.Contains("number") ? "number" : types[random.Next(types.Count)];
        return type switch
        {
            "object" => ObjectValue(schema, random, token, depth),
            "array" => ArrayValue(schema, field, random, token, depth),
            "integer" => JsonValue.Create(random.Next(0, 10)),
            "number" => JsonValue.Create(Math.Round(random.NextDouble(), 3)),
            "boolean" => JsonValue.Create(random.Next(2) == 0),
            "string" when schema.TryGetProperty("format", out var format) && format.GetString() == "date-time" =>
                JsonValue.Create(DateTimeOffset.UtcNow.AddMinutes(random.Next(-60, 60)).ToString("O", CultureInfo.InvariantCulture)),
            "string" => JsonValue.Create("text-" + random.Next(1000)),
            _ => null,
        };
    }

    /// <summary>The document's schema behind a <c>$ref</c>.</summary>
    public JsonElement Resolve(JsonElement schema)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!.Split('/')[^1];
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(name);
        }

        return schema;
    }

    /// <summary>The object's declared properties (resolved), and which are required.</summary>
    public (IReadOnlyList<(string Name, JsonElement Schema)> Properties, IReadOnlyList<string> Required) Members(JsonElement schema)
    {
        schema = Resolve(schema);
        var properties = schema.TryGetProperty("properties", out var p)
            ? p.EnumerateObject().Select(m => (m.Name, Resolve(m.Value))).ToList()
            : [];
        var required = schema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
        return (properties, required);
    }

    public static IReadOnlyList<string> Types(JsonElement schema)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return [];
        }

        return type.ValueKind == JsonValueKind.Array
            ? type.EnumerateArray().Select(t => t.GetString()!).Where(t => t != "null").ToList()
            : type.GetString() is { } single and not "null" ? [single] : [];
    }

    private static bool IsNullOnly(JsonElement schema) => schema.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null";

    private JsonObject ObjectValue(JsonElement schema, Random random, string? token, int depth)
    {
        var result = new JsonObject();
        var (properties, required) = Members(schema);
        foreach (var (name, property) in properties)
        {
            if (required.Contains(name) || random.Next(2) == 0)
            {
                result[name] = Valid(property, name, random, token, depth + 1);
            }
        }

        if (properties.Count == 0 && schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object)
        {
            for (var i = random.Next(4); i > 0; i--)
            {
                result["k" + random.Next(100)] = Valid(additional, null, random, token, depth + 1);
            }
        }

        return result;
    }

    private JsonArray ArrayValue(JsonElement schema, string? field, Random random, string? token, int depth)
    {
        var result = new JsonArray();
        if (schema.TryGetProperty("items", out var items))
        {
            for (var i = 1 + random.Next(3); i > 0; i--)
            {
                result.Add(Valid(items, field is null ? null : field + "[]", random, token, depth + 1));
            }
        }

        return result;
    }

    /// <summary>Free-form JSON (input, result, answers…): small values, now and then something shaped like a JSON Schema.</summary>
    private static JsonNode? AnyJson(Random random, int depth) =>
        random.Next(depth > 2 ? 4 : 7) switch
        {
            0 => null,
            1 => JsonValue.Create(random.Next(-5, 100)),
            2 => JsonValue.Create("v" + random.Next(100)),
            3 => JsonValue.Create(random.Next(2) == 0),
            4 => new JsonArray(AnyJson(random, depth + 1), AnyJson(random, depth + 1)),
            5 => new JsonObject { ["a"] = AnyJson(random, depth + 1), ["b"] = AnyJson(random, depth + 1) },
            _ => JsonNode.Parse(SchemaShapes[random.Next(SchemaShapes.Length)]),
        };

    /// <summary>Prompt schemas and answers go through a JSON Schema reader: give it schema-like documents, odd ones included.</summary>
    private static readonly string[] SchemaShapes =
    [
        """{"type":"string"}""", """{"type":"integer","minimum":0,"maximum":10}""", """{"enum":["yes","no"]}""",
        """{"type":"object","required":["a"],"properties":{"a":{"type":"number"}}}""", """{"type":"bogus"}""", """{"$ref":"#/definitions/missing"}""",
        """{"$ref":"#"}""", """{"$ref":"http://127.0.0.1:9/schema.json"}""", """{"$ref":"file:///etc/passwd"}""", """{"pattern":"("}""",
        """{"minimum":"ten"}""", """{"type":["string",7]}""", """{"allOf":[{"$ref":"#"}]}""", """{"definitions":{"a":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"}""",
        """{"properties":[]}""", """{"required":"a"}""", """{"format":"date-time","type":"string"}""", """{"not":{}}""", "true", "false", "{}",
    ];

    /// <summary>Values in range for the fields whose range the document does not state.</summary>
    private JsonNode? Known(string field, Random random, string? token) => field switch
    {
        "id" => JsonValue.Create($"fz-{random.Next(1_000_000)}"),
        "type" => JsonValue.Create(FuzzFixtures.Types[random.Next(FuzzFixtures.Types.Length)]),
        "types[]" => JsonValue.Create(FuzzFixtures.Types[random.Next(FuzzFixtures.Types.Length)]),
        "lease_token" => JsonValue.Create(token ?? fixtures.Token(random)),
        "worker_id" => JsonValue.Create("fuzz-worker-" + random.Next(4)),
        "wait_seconds" => JsonValue.Create(random.Next(3) * 0.1),
        "lease_seconds" => JsonValue.Create(random.Next(1, 120)),
        "max" => JsonValue.Create(random.Next(1, 4)),
        "max_attempts" => JsonValue.Create(random.Next(1, 5)),
        "priority" => JsonValue.Create(random.Next(-3, 4)),
        "fraction" or "confidence" => JsonValue.Create(Math.Round(random.NextDouble(), 2)),
        "current" or "total" => JsonValue.Create(random.Next(0, 100)),
        "expires_in_seconds" => JsonValue.Create(random.Next(1, 3600)),
        "on_expiry" => JsonValue.Create(random.Next(2) == 0 ? "fail" : "default"),
        "key" => JsonValue.Create("k" + random.Next(3)),
        "options" => new JsonArray("yes", "no"),
        "answer" or "default_answer" => random.Next(2) == 0 ? JsonValue.Create(random.Next(2) == 0 ? "yes" : "no") : null,
        "status" => JsonValue.Create(Statuses[random.Next(Statuses.Length)]),
        _ => null,
    };

    private static readonly string[] Statuses = ["queued", "running", "waiting", "completed", "failed", "cancelled"];
}
