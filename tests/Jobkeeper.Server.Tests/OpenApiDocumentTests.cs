using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>What the served OpenAPI document says: enough to generate a client from (see docs/api.md, "OpenAPI").</summary>
public sealed class OpenApiDocumentTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Every_query_parameter_is_declared_with_its_type_and_range()
    {
        var document = await fixture.Client.GetJsonAsync("/openapi/v1.json");
        var expected = new Dictionary<string, string[]>
        {
            ["get /api/v1/jobs"] = ["status", "type", "queue", "label", "q", "created_after", "created_before", "sort", "limit", "cursor"],
            ["get /api/v1/workers"] = ["within_seconds"],
            ["delete /api/v1/jobs/cleanup"] = ["days"],
            ["get /api/v1/jobs/{id}/events"] = ["after", "limit"],
            ["get /api/v1/events"] = ["type", "status", "after"],
            ["get /api/v1/jobs/{id}/stream"] = ["after"],
        };
        foreach (var (key, names) in expected)
        {
            var parts = key.Split(' ');
            var declared = Query(document.GetProperty("paths").GetProperty(parts[1]).GetProperty(parts[0]));
            Assert.Equal(names.Order(), declared.Keys.Order());
        }

        var list = Query(document.GetProperty("paths").GetProperty("/api/v1/jobs").GetProperty("get"));
        var limit = list["limit"].GetProperty("schema");
        Assert.Equal("integer", limit.Str("type"));
        Assert.Equal(1, limit.GetProperty("minimum").GetInt32());
        Assert.Equal(1000, limit.GetProperty("maximum").GetInt32());
        Assert.Equal("date-time", list["created_after"].GetProperty("schema").Str("format"));
        Assert.Equal("array", list["status"].GetProperty("schema").Str("type"));
    }

    [Fact]
    public async Task Integers_are_integers_and_bodies_are_named_schemas_with_constraints()
    {
        var document = await fixture.Client.GetJsonAsync("/openapi/v1.json");
        var mixed = new List<string>();
        Walk(document, "#", (path, node) =>
        {
            if (node.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.Array)
            {
                var types = type.EnumerateArray().Select(t => t.GetString()).ToList();
                if (types.Contains("string") && (types.Contains("integer") || types.Contains("number")))
                {
                    mixed.Add(path);
                }
            }
        });
        Assert.True(mixed.Count == 0, "numbers that may be strings: " + string.Join(", ", mixed));

        var schemas = document.GetProperty("components").GetProperty("schemas");
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (!operation.Value.TryGetProperty("requestBody", out var body))
                {
                    continue;
                }

                var media = body.GetProperty("content").GetProperty("application/json");
                var name = media.GetProperty("schema").Str("$ref").Split('/')[^1];
                Assert.True(schemas.GetProperty(name).TryGetProperty("description", out _), $"{name} has no description");
                Assert.True(media.TryGetProperty("example", out _), $"{operation.Name} {path.Name} has no example");
            }
        }

        var create = schemas.GetProperty("NewJob");
        Assert.Equal(["type"], create.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("^[A-Za-z0-9._:-]{1,128}$", create.GetProperty("properties").GetProperty("id").Str("pattern"));
        var maxAttempts = create.GetProperty("properties").GetProperty("max_attempts");
        Assert.Equal(1000, maxAttempts.GetProperty("maximum").GetInt32());
        Assert.Equal("int32", maxAttempts.Str("format"));
        var claim = schemas.GetProperty("ClaimJobsRequest");
        Assert.Equal(30, claim.GetProperty("properties").GetProperty("wait_seconds").GetProperty("maximum").GetInt32());
    }

    [Fact]
    public async Task Merge_patch_members_are_described_as_their_values_that_may_be_null()
    {
        var document = await fixture.Client.GetJsonAsync("/openapi/v1.json");
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var patch = schemas.GetProperty("UpdateJobRequest").GetProperty("properties");
        static string[] Types(JsonElement schema) => [.. schema.GetProperty("type").EnumerateArray().Select(t => t.GetString()!).Order()];

        var progress = patch.GetProperty("progress");
        Assert.Equal(["null", "object"], Types(progress));
        Assert.Equal(["null", "number"], Types(progress.GetProperty("properties").GetProperty("fraction")));
        Assert.Contains("queued", patch.GetProperty("status").GetProperty("enum").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : null));
        Assert.Equal(["integer", "null"], Types(schemas.GetProperty("ProgressRequest").GetProperty("properties").GetProperty("current")));
        foreach (var member in patch.EnumerateObject())
        {
            Assert.True(member.Value.TryGetProperty("description", out _), $"UpdateJobRequest.{member.Name} has no description");
        }
    }

    [Fact]
    public async Task Both_ways_to_send_an_api_key_are_security_schemes_of_every_api_route()
    {
        var document = await fixture.Client.GetJsonAsync("/openapi/v1.json");
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("http", schemes.GetProperty("bearer").Str("type"));
        Assert.Equal("bearer", schemes.GetProperty("bearer").Str("scheme"));
        Assert.Equal("apiKey", schemes.GetProperty("apiKey").Str("type"));
        Assert.Equal("header", schemes.GetProperty("apiKey").Str("in"));
        Assert.Equal("X-Api-Key", schemes.GetProperty("apiKey").Str("name"));
        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/v1/", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var security = operation.Value.GetProperty("security").EnumerateArray().SelectMany(r => r.EnumerateObject().Select(s => s.Name)).ToList();
                Assert.Equal(["bearer", "apiKey"], security);
            }
        }
    }

    private static Dictionary<string, JsonElement> Query(JsonElement operation) =>
        operation.GetProperty("parameters").EnumerateArray().Where(p => p.Str("in") == "query").ToDictionary(p => p.Str("name"));

    private static void Walk(JsonElement node, string path, Action<string, JsonElement> visit)
    {
        if (node.ValueKind == JsonValueKind.Object)
        {
            visit(path, node);
            foreach (var member in node.EnumerateObject())
            {
                Walk(member.Value, path + "/" + member.Name, visit);
            }
        }
        else if (node.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in node.EnumerateArray())
            {
                Walk(item, path + "/" + i++, visit);
            }
        }
    }
}
