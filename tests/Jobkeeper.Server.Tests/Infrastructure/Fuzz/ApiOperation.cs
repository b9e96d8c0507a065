using System.Text.Json;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>One operation of the server's OpenAPI document: a method on a path template, its parameters and its JSON body schema.</summary>
public sealed record ApiOperation(string Method, string PathTemplate, IReadOnlyList<string> PathParameters, IReadOnlyList<string> QueryParameters,
    IReadOnlyList<string> Headers, JsonElement? BodySchema)
{
    public string Name => $"{Method} {PathTemplate}";

    /// <summary>
    /// Every path and method of <paramref name="document"/>, with the parameters and bodies it declares. The
    /// preconditions and the stream's resume header are not declared, so those come from <see cref="KnownHeaders"/>.
    /// </summary>
    public static IReadOnlyList<ApiOperation> FromDocument(JsonElement document)
    {
        var operations = new List<ApiOperation>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var method in path.Value.EnumerateObject())
            {
                if (method.Name is "parameters" or "summary" or "description" or "servers")
                {
                    continue;
                }

                var verb = method.Name.ToUpperInvariant();
                var pathParameters = new List<string>();
                var query = new List<string>();
                var headers = new List<string>();
                if (method.Value.TryGetProperty("parameters", out var parameters))
                {
                    foreach (var parameter in parameters.EnumerateArray())
                    {
                        var name = parameter.GetProperty("name").GetString()!;
                        switch (parameter.GetProperty("in").GetString())
                        {
                            case "path":
                                pathParameters.Add(name);
                                break;
                            case "query":
                                query.Add(name);
                                break;
                            case "header":
                                headers.Add(name);
                                break;
                        }
                    }
                }

                headers.AddRange(KnownHeaders(verb, path.Name).Where(h => !headers.Contains(h)));
                JsonElement? body = null;
                if (method.Value.TryGetProperty("requestBody", out var requestBody)
                    && requestBody.TryGetProperty("content", out var content)
                    && content.TryGetProperty("application/json", out var json)
                    && json.TryGetProperty("schema", out var schema))
                {
                    body = schema.Clone();
                }

                operations.Add(new ApiOperation(verb, path.Name, pathParameters, query, headers, body));
            }
        }

        return operations;
    }

    /// <summary>Request headers the endpoints read: preconditions, the actor, and where a stream resumes.</summary>
    private static IEnumerable<string> KnownHeaders(string method, string path)
    {
        if (method is "POST" or "PATCH" or "DELETE")
        {
            yield return "X-Actor";
        }

        if (method == "PATCH")
        {
            yield return "If-Match";
        }

        if (method == "GET" && path == "/api/v1/jobs/{id}")
        {
            yield return "If-None-Match";
        }

        if (path.EndsWith("/stream", StringComparison.Ordinal) || path == "/api/v1/events")
        {
            yield return "Last-Event-ID";
        }
    }
}
