using System.Text.Json;
using Jobkeeper;
using Jobkeeper.Example;
using Jobkeeper.Hosting;
using Jobkeeper.Workers;

const string WorkersSection = "Jobkeeper:Workers";

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddOptions<ExampleOptions>()
    .BindConfiguration(ExampleOptions.Section)
    .Validate(o => !string.IsNullOrWhiteSpace(o.Db), "Example:Db must name the SQLite file")
    .Validate(o => o.StepDelayMs >= 0, "Example:StepDelayMs must be zero or more")
    .ValidateOnStart();

var settings = builder.Configuration.GetSection(ExampleOptions.Section).Get<ExampleOptions>() ?? new ExampleOptions();
var dbPath = Path.GetFullPath(settings.Db, builder.Environment.ContentRootPath);

// Jobkeeper: durable jobs in one SQLite file, and an in-process handler that runs the analyses. How the
// handler's jobs are run (lease, heartbeats, reaping, concurrency, shutdown grace) comes from Jobkeeper:Workers.
builder.Services.AddJobkeeper(o =>
    {
        o.UseSqlite(dbPath);
        builder.Configuration.GetSection(WorkersSection).Bind(o.Workers);
    })
    .AddHandler(AnalyzeEndpoint.JobType,
        (JobContext job, CancellationToken cancellationToken) => job.Services.GetRequiredService<AnalysisHandler>().AnalyzeAsync(job, cancellationToken))
    // Human in the loop: measures, then asks a person two questions; the job waits (holding no worker) for each answer.
    .AddHandler(ReviewHandler.JobType,
        (JobContext job, CancellationToken cancellationToken) => job.Services.GetRequiredService<ReviewHandler>().ReviewAsync(job, cancellationToken));

// Bad worker settings stop the app at start with a clear message instead of failing later in the background.
builder.Services.AddOptions<JobkeeperOptions>()
    .Validate(o => o.Workers.LeaseDuration >= WorkQueue.MinLease && o.Workers.LeaseDuration <= WorkQueue.MaxLease,
        $"{WorkersSection}:LeaseDuration must be from {WorkQueue.MinLease} to {WorkQueue.MaxLease}")
    .Validate(o => o.Workers.HeartbeatInterval is null || (o.Workers.HeartbeatInterval > TimeSpan.Zero && o.Workers.HeartbeatInterval < o.Workers.LeaseDuration),
        $"{WorkersSection}:HeartbeatInterval must be positive and shorter than the lease")
    .Validate(o => o.Workers.ReapInterval > TimeSpan.Zero, $"{WorkersSection}:ReapInterval must be positive")
    .Validate(o => o.Workers.PollInterval > TimeSpan.Zero, $"{WorkersSection}:PollInterval must be positive")
    .Validate(o => o.Workers.MaxConcurrency is >= 1 and <= 1000, $"{WorkersSection}:MaxConcurrency must be from 1 to 1000")
    .Validate(o => o.Workers.ShutdownGracePeriod >= TimeSpan.Zero, $"{WorkersSection}:ShutdownGracePeriod must be zero or more")
    .ValidateOnStart();

// The example's own parts.
builder.Services.AddSingleton<AnalysisHandler>();
builder.Services.AddSingleton<ReviewHandler>();
builder.Services.AddSingleton<ExecutionLog>();
// An export the app drives itself (no handler): registered after AddJobkeeper, so it stops before Jobkeeper settles its jobs.
builder.Services.AddSingleton<ExportRunner>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<ExportRunner>());
builder.Services.AddProblemDetails();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapJobkeeper();
app.MapAnalyze();
app.MapExports();

app.Logger.LogInformation("Jobs are kept in {DbPath}", dbPath);
if (app.Services.GetRequiredService<ExecutionLog>().Path is { } executionLog)
{
    app.Logger.LogInformation("Handler executions are logged to {ExecutionLog}", executionLog);
}

app.Run();
