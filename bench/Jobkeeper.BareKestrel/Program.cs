using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;

// The same WebApplication setup as src/Jobkeeper.Server/ServerApp.cs: content root and appsettings.json, console logging,
// URLs from --urls, Kestrel's request body limit. Endpoints:
//   GET  /bare/{id}  a small JSON object (the baseline for GET /api/v1/jobs/{id})
//   POST /bare       parses a small JSON body and answers 201 with a small JSON object (baseline for POST /api/v1/jobs)
var urls = "http://127.0.0.1:8081";
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--urls")
    {
        urls = args[i + 1];
    }
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = [],
    // As ServerApp: the appsettings.json beside the executable gives the defaults wherever it is started.
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
    o.UseUtcTimestamp = true;
});
builder.WebHost.UseUrls(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024 * 1024);
builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BareJsonContext.Default));

var app = builder.Build();
app.MapGet("/bare/{id}", (string id) => TypedResults.Json(new BareItem(id, "queued", 1), BareJsonContext.Default.BareItem));
app.MapPost("/bare", (BareRequest request) =>
    TypedResults.Json(new BareItem(Guid.CreateVersion7().ToString("D"), request.Type ?? "none", 1), BareJsonContext.Default.BareItem,
        statusCode: StatusCodes.Status201Created));
app.MapGet("/health", () => TypedResults.Ok());
await app.RunAsync().ConfigureAwait(false);

internal sealed record BareItem(string Id, string Status, long Version);

internal sealed record BareRequest(string? Type, Dictionary<string, string>? Labels);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BareItem))]
[JsonSerializable(typeof(BareRequest))]
internal sealed partial class BareJsonContext : JsonSerializerContext;
