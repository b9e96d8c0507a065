using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Example.Tests;

/// <summary>
/// An app that embeds Jobkeeper's routes serves the same OpenAPI document as <c>jobkeeper serve</c>, its own routes
/// beside them, whatever its own JSON settings (here the defaults: camelCase, numbers readable from strings).
/// </summary>
public sealed class EmbeddedOpenApiTests : IDisposable
{
    private readonly string _tempDir = Directory.CreateTempSubdirectory("jobkeeper-embedded-openapi-").FullName;

    [Fact]
    public async Task A_minimal_embedding_app_serves_the_full_document()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddJobkeeper(o => o.UseSqlite(Path.Combine(_tempDir, "jobs.db")));
        builder.Services.AddJobkeeperApi();
        await using var app = builder.Build();
        app.MapGet("/hello", () => "hello").WithName("Hello");
        app.MapJobkeeper();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var root = document.RootElement;
        var operations = root.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => m.Value.GetProperty("operationId").GetString()!)).ToHashSet();
        foreach (var name in new[]
        {
            "CreateJob", "ListJobs", "CleanupJobs", "GetJob", "UpdateJob", "DeleteJob", "GetJobEvents", "CancelJob", "RetryJob", "ClaimJobs",
            "HeartbeatJob", "ReportJobProgress", "CompleteJob", "FailJob", "ReleaseJob", "GetOpenPrompt", "AnswerPrompt", "AskPrompt",
            "SaveCheckpoint", "StreamEvents", "StreamJobEvents", "Health", "Hello",
        })
        {
            Assert.Contains(name, operations);
        }

        var schemas = root.GetProperty("components").GetProperty("schemas");
        var create = schemas.GetProperty("NewJob").GetProperty("properties");
        Assert.True(create.TryGetProperty("max_attempts", out var maxAttempts), "the body is not described as the API reads it: " + create);
        Assert.Equal(["null", "integer"], maxAttempts.GetProperty("type").EnumerateArray().Select(t => t.GetString()));
        Assert.True(schemas.GetProperty("Job").GetProperty("properties").TryGetProperty("created_at", out _));
        var parameters = root.GetProperty("paths").GetProperty("/api/v1/jobs").GetProperty("get").GetProperty("parameters");
        Assert.Contains(parameters.EnumerateArray(), p => p.GetProperty("name").GetString() == "cursor");
        Assert.True(root.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("apiKey", out _));
        await app.StopAsync();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temp directory is cleaned up by the system later.
        }
    }
}
