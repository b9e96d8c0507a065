using System.Text.Json;
using Jobkeeper;
using Jobkeeper.Example;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddOptions<ExampleOptions>()
    .BindConfiguration(ExampleOptions.Section)
    .Validate(o => !string.IsNullOrWhiteSpace(o.Db), "Example:Db must name the SQLite file")
    .Validate(o => o.StepDelayMs >= 0, "Example:StepDelayMs must be zero or more")
    .Validate(o => o.Workers is >= 1 and <= 64, "Example:Workers must be from 1 to 64")
    .ValidateOnStart();

var settings = builder.Configuration.GetSection(ExampleOptions.Section).Get<ExampleOptions>() ?? new ExampleOptions();
var dbPath = Path.GetFullPath(settings.Db, builder.Environment.ContentRootPath);

// Jobkeeper: durable jobs in one SQLite file, and its HTTP API to follow them.
builder.Services.AddJobkeeper(o => o.UseSqlite(dbPath));

// The example's own parts; the worker is registered after AddJobkeeper so it starts after the store opens.
builder.Services.AddSingleton<AnalysisQueue>();
builder.Services.AddSingleton<AnalysisRunner>();
builder.Services.AddSingleton<AnalysisRecovery>();
builder.Services.AddHostedService<AnalysisWorker>();
builder.Services.AddProblemDetails();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapJobkeeper();
app.MapAnalyze();

app.Logger.LogInformation("Jobs are kept in {DbPath}", dbPath);
app.Run();
