using Jobkeeper.Contracts;
using Jobkeeper;
using Jobkeeper.AspNetCore;
using Jobkeeper.AspNetCore.Api;
using Jobkeeper.AspNetCore.OpenApi;
using Jobkeeper.AspNetCore.Security;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;


namespace Microsoft.AspNetCore.Builder;

public static class JobkeeperEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the Jobkeeper HTTP API under <c>/api/v1</c> and <c>GET /health</c>, and with <c>AddJobkeeperApi()</c> its
    /// OpenAPI document at <c>/openapi/v1.json</c>. Requires <c>services.AddJobkeeper(...)</c>. Returns the <c>/api/v1</c>
    /// group for conventions such as authorization.
    /// </summary>
    public static RouteGroupBuilder MapJobkeeper(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var manager = services.GetService<JobManager>()
            ?? throw new InvalidOperationException("MapJobkeeper needs services.AddJobkeeper(o => o.UseSqlite(...)) first.");
        var time = services.GetRequiredService<TimeProvider>();
        var health = new HealthEndpoint(services.GetRequiredService<Jobkeeper.Storage.IJobStore>(), services.GetRequiredService<Jobkeeper.Caching.JobCache>(),
            new HealthCounts(manager, services.GetRequiredService<Jobkeeper.Storage.JobCountChanges>(), time),
            services.GetRequiredService<Jobkeeper.Maintenance.IMaintenanceLeadership>(), time,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Jobkeeper.Health"));
        // With AddJobkeeperAuthorization (or AddJobkeeperApiKeys) every API route needs its role; /health stays open.
        var secured = services.GetService<JobkeeperAuthorizationMarker>() is not null;

        var api = endpoints.MapGroup("/api/v1")
            // One filter instance for every request: AddEndpointFilter<T>() makes a new one per request (an allocation on every
            // call of every route; seen in the hot GET's gc-verbose trace).
            .AddEndpointFilter(ProblemEndpointFilter.Instance)
            .WithTags("Jobs")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapPost("/jobs", JobEndpoints.Create)
            .WithName("CreateJob").Needs(JobkeeperRoles.Submit, secured).WithSummary("Create a job").WithMetadata(ActorHeadersMetadata.Instance)
            .WithMetadata(new JsonRequestBodyMetadata(typeof(NewJob))).WithMetadata(IdempotencyKeyMetadata.Instance)
            .Produces<Job>(StatusCodes.Status201Created)
            .Produces<Job>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        // No POST route takes /jobs/{id} alone, so this literal segment shadows no job (a job may be named "batch").
        api.MapPost("/jobs/batch", JobEndpoints.CreateMany)
            .WithName("CreateJobs").Needs(JobkeeperRoles.Submit, secured).WithSummary("Create up to 10,000 jobs in one transaction, each answered on its own")
            .WithMetadata(ActorHeadersMetadata.Instance)
            .WithMetadata(new JsonRequestBodyMetadata(typeof(BatchCreateRequest)))
            .Produces<BatchCreateResponse>()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        api.MapPost("/jobs/bulk", JobEndpoints.Bulk)
            .WithName("BulkJobs").Needs(JobkeeperRoles.Submit, secured)
            .WithSummary("Retry, cancel or delete every job a filter matches (`dry_run` counts them); `delete` needs the admin role")
            .WithMetadata(ActorHeadersMetadata.Instance)
            .WithMetadata(new JsonRequestBodyMetadata(typeof(BulkActionRequest)))
            .Produces<BulkActionResponse>()
            .ProducesProblem(StatusCodes.Status403Forbidden);

        api.MapGet("/jobs", JobEndpoints.List)
            .WithName("ListJobs").Needs(JobkeeperRoles.Read, secured).WithSummary("List jobs, newest first, with filters and a keyset cursor")
            .WithMetadata(QueryParameters.ListJobs)
            .Produces<JobListResponse>();

        // Literal segments win over {id}, so this never shadows a job route.
        api.MapDelete("/jobs/cleanup", JobEndpoints.Cleanup)
            .WithName("CleanupJobs").Needs(JobkeeperRoles.Admin, secured).WithSummary("Delete finished jobs completed more than `days` days ago")
            .WithMetadata(QueryParameters.Cleanup)
            .Produces<CleanupResponse>();

        // The manager is taken here, not as a parameter: a service parameter is resolved from the request's services, which
        // opens a DI scope per request and disposes it under a lock (seen contended in the hot GET's thread-time trace).
        api.MapGet("/jobs/{id}", (string id, HttpContext http, CancellationToken cancellationToken) => JobEndpoints.Get(id, http, manager, cancellationToken))
            .WithName("GetJob").Needs(JobkeeperRoles.Read, secured).WithSummary("Get a job (ETag: its version)")
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPatch("/jobs/{id}", JobEndpoints.Update)
            .WithName("UpdateJob").Needs(JobkeeperRoles.Submit, secured).WithSummary("Change status, progress, result, error or labels (JSON merge patch; If-Match for compare-and-set)")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(UpdateJobRequest)), ActorHeadersMetadata.Instance)
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        api.MapDelete("/jobs/{id}", JobEndpoints.Delete)
            .WithName("DeleteJob").Needs(JobkeeperRoles.Admin, secured).WithSummary("Delete a job and its history (who and why go to the server log)")
            .WithMetadata(ActorHeadersMetadata.Instance)
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/jobs/{id}/events", JobEndpoints.Events)
            .WithName("GetJobEvents").Needs(JobkeeperRoles.Read, secured).WithSummary("A job's history, oldest first")
            .WithMetadata(QueryParameters.Events)
            .Produces<JobEventListResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/jobs/{id}/cancel", JobEndpoints.Cancel)
            .WithName("CancelJob").Needs(JobkeeperRoles.Submit, secured).WithSummary("Cancel a job: queued or waiting ends now; running is told to stop and ends cancelled within the grace period")
            .WithMetadata(ActorHeadersMetadata.Instance)
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/jobs/{id}/retry", JobEndpoints.Retry)
            .WithName("RetryJob").Needs(JobkeeperRoles.Submit, secured).WithSummary("Queue a failed or cancelled job again (attempt + 1)")
            .WithMetadata(ActorHeadersMetadata.Instance)
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        MapWorkerRoutes(api, secured);
        MapPromptRoutes(api, secured);
        MapQueueRoutes(api, secured);
        MapScheduleRoutes(api, secured);

        api.MapGet("/events", StreamEndpoints.All)
            .WithTags("Events").WithName("StreamEvents").Needs(JobkeeperRoles.Read, secured).WithMetadata(QueryAccessTokenMetadata.Instance)
            .WithSummary("Server-Sent Events of all jobs (filters `type`, `status`); resume with Last-Event-ID")
            .WithMetadata(QueryParameters.StreamAll)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");

        api.MapGet("/jobs/{id}/stream", StreamEndpoints.OneJob)
            .WithTags("Events").WithName("StreamJobEvents").Needs(JobkeeperRoles.Read, secured).WithMetadata(QueryAccessTokenMetadata.Instance)
            .WithSummary("Server-Sent Events of one job; resume with Last-Event-ID")
            .WithMetadata(QueryParameters.StreamOneJob)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);

        endpoints.MapGet("/health", (HttpRequest request, CancellationToken ct) => health.GetAsync(request, ct))
            .WithName("Health").WithTags("Operations")
            .WithSummary("Store, counts and cache; 503 when the store cannot be read. Counts may be up to 5 s old; Cache-Control: no-cache counts now")
            .Produces<HealthResponse>()
            .Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);

        // The document AddJobkeeperApi() registered, served here so every app that embeds these routes serves it too.
        if (services.GetService<JobkeeperOpenApiMarker>() is not null
            && services.GetRequiredService<IOptions<JobkeeperApiOptions>>().Value.OpenApiPattern is { } openApiPattern)
        {
            endpoints.MapOpenApi(openApiPattern);
        }

        // The standard probes, through ASP.NET Core health checks (registered by AddJobkeeperApi, or the app's AddHealthChecks).
        if (services.GetService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>() is not null)
        {
            // Live: the process answers; no check runs, so a slow store never gets a live process restarted.
            endpoints.MapHealthChecks("/health/live", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = _ => false })
                .WithName("HealthLive").WithTags("Operations").WithSummary("200 Healthy while the process runs");
            // Ready: every check tagged "ready", the store's among them: 503 Unhealthy while the store cannot be read or is damaged.
            endpoints.MapHealthChecks("/health/ready", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
                {
                    Predicate = check => check.Tags.Contains(JobkeeperHealthChecks.ReadyTag),
                })
                .WithName("HealthReady").WithTags("Operations").WithSummary("200 Healthy when the store is readable and not damaged, else 503 Unhealthy");
        }

        return api;
    }

    private static void MapQueueRoutes(RouteGroupBuilder api, bool secured)
    {
        api.MapGet("/queues", QueueEndpoints.List)
            .WithTags("Queues").WithName("ListQueues").Needs(JobkeeperRoles.Read, secured)
            .WithSummary("Every queue with jobs or settings: settings, paused, counts by status, running vs limit, oldest queued age, throughput")
            .Produces<QueueListResponse>();

        api.MapGet("/queues/{name}", QueueEndpoints.Get)
            .WithTags("Queues").WithName("GetQueue").Needs(JobkeeperRoles.Read, secured).WithSummary("One queue's settings and state at a glance")
            .Produces<QueueInfo>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPatch("/queues/{name}", QueueEndpoints.Update)
            .WithTags("Queues").WithName("UpdateQueue").Needs(JobkeeperRoles.Admin, secured)
            .WithSummary("Change a queue's concurrency limit, partition or rate limit (JSON merge patch; null removes). Holds on every instance at once")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(UpdateQueueRequest)), ActorHeadersMetadata.Instance)
            .Produces<QueueInfo>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/queues/{name}/pause", QueueEndpoints.Pause)
            .WithTags("Queues").WithName("PauseQueue").Needs(JobkeeperRoles.Admin, secured)
            .WithSummary("Pause the queue (or one `type` in it): once this returns no instance claims its jobs; running jobs finish. Idempotent")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(PauseQueueRequest), Optional: true), ActorHeadersMetadata.Instance)
            .Produces<QueueInfo>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/queues/{name}/resume", QueueEndpoints.Resume)
            .WithTags("Queues").WithName("ResumeQueue").Needs(JobkeeperRoles.Admin, secured)
            .WithSummary("Resume the queue (or one `type` in it); waiting workers wake at once. Idempotent")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(PauseQueueRequest), Optional: true), ActorHeadersMetadata.Instance)
            .Produces<QueueInfo>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static void MapScheduleRoutes(RouteGroupBuilder api, bool secured)
    {
        api.MapGet("/schedules", ScheduleEndpoints.List)
            .WithTags("Schedules").WithName("ListSchedules").Needs(JobkeeperRoles.Read, secured)
            .WithSummary("Every schedule with its next fire times, its last fire and the job that fire created")
            .Produces<ScheduleListResponse>();

        api.MapPost("/schedules", ScheduleEndpoints.Create)
            .WithTags("Schedules").WithName("CreateSchedule").Needs(JobkeeperRoles.Admin, secured)
            .WithSummary("Create a schedule: a cron expression in a time zone, or an interval; each fire time creates at most one job")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(NewSchedule)))
            .Produces<Schedule>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapGet("/schedules/{name}", ScheduleEndpoints.Get)
            .WithTags("Schedules").WithName("GetSchedule").Needs(JobkeeperRoles.Read, secured).WithSummary("One schedule, with its next fire times")
            .Produces<Schedule>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPatch("/schedules/{name}", ScheduleEndpoints.Update)
            .WithTags("Schedules").WithName("UpdateSchedule").Needs(JobkeeperRoles.Admin, secured)
            .WithSummary("Change a schedule (JSON merge patch); a new timing counts from now")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(UpdateScheduleRequest)))
            .Produces<Schedule>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapDelete("/schedules/{name}", ScheduleEndpoints.Delete)
            .WithTags("Schedules").WithName("DeleteSchedule").Needs(JobkeeperRoles.Admin, secured).WithSummary("Delete a schedule; the jobs it created stay")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/schedules/{name}/trigger", ScheduleEndpoints.Trigger)
            .WithTags("Schedules").WithName("TriggerSchedule").Needs(JobkeeperRoles.Submit, secured)
            .WithSummary("An extra run now, outside the timing: creates the schedule's job and returns it").WithMetadata(ActorHeadersMetadata.Instance)
            .Produces<ScheduleTriggerResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/schedules/{name}/pause", ScheduleEndpoints.Pause)
            .WithTags("Schedules").WithName("PauseSchedule").Needs(JobkeeperRoles.Admin, secured)
            .WithSummary("Pause: no fire until resumed (fire times meanwhile are not caught up). Idempotent")
            .Produces<Schedule>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/schedules/{name}/resume", ScheduleEndpoints.Resume)
            .WithTags("Schedules").WithName("ResumeSchedule").Needs(JobkeeperRoles.Admin, secured)
            .WithSummary("Resume: the next fire is the first fire time from now. Idempotent")
            .Produces<Schedule>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static void MapPromptRoutes(RouteGroupBuilder api, bool secured)
    {
        api.MapGet("/jobs/{id}/prompt", PromptEndpoints.GetOpen)
            .WithTags("Prompts").WithName("GetOpenPrompt").Needs(JobkeeperRoles.Read, secured).WithSummary("The question a waiting job asks; 404 when none is open")
            .Produces<JobPrompt>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/jobs/{id}/prompt/response", PromptEndpoints.Answer)
            .WithTags("Prompts").WithName("AnswerPrompt").Needs(JobkeeperRoles.Answer, secured)
            .WithSummary("Answer the open prompt; the job is queued to run again. One answer wins (409 after); 422 when it does not fit")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(AnswerPromptRequest)), ActorHeadersMetadata.Instance)
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        api.MapPost("/jobs/{id}/prompt", PromptEndpoints.Ask)
            .WithTags("Workers").WithName("AskPrompt").Needs(JobkeeperRoles.Work, secured)
            .WithSummary("An external worker asks a question: the job waits (lease ends); a key answered already returns its answer")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(AskPromptRequest)))
            .Produces<PromptAskResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/jobs/{id}/checkpoint", PromptEndpoints.SaveCheckpoint)
            .WithTags("Workers").WithName("SaveCheckpoint").Needs(JobkeeperRoles.Work, secured).WithSummary("Save the worker's small JSON state on the job, under the lease")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(CheckpointRequest)))
            .Produces<LeaseResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static void MapWorkerRoutes(RouteGroupBuilder api, bool secured)
    {
        api.MapGet("/workers", WorkerEndpoints.List)
            .WithTags("Workers").WithName("ListWorkers").Needs(JobkeeperRoles.Read, secured)
            .WithSummary("The workers heard from in the last `within_seconds` (in-process and HTTP), the jobs they hold, and what they did per minute")
            .WithMetadata(QueryParameters.Workers)
            .Produces<WorkerListResponse>();

        api.MapPost("/workers/claim", WorkerEndpoints.Claim)
            .WithTags("Workers").WithName("ClaimJobs").Needs(JobkeeperRoles.Work, secured)
            .WithSummary("Claim up to `max` due jobs of `types` under a lease; waits up to `wait_seconds` (≤ 30) for work")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(ClaimJobsRequest)))
            .Produces<ClaimResponse>();

        api.MapPost("/jobs/{id}/heartbeat", WorkerEndpoints.Heartbeat)
            .WithTags("Workers").WithName("HeartbeatJob").Needs(JobkeeperRoles.Work, secured).WithSummary("Renew the lease; says whether a cancel was requested")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(LeaseRequest)))
            .Produces<LeaseResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/jobs/{id}/progress", WorkerEndpoints.Progress)
            .WithTags("Workers").WithName("ReportJobProgress").Needs(JobkeeperRoles.Work, secured).WithSummary("Report progress (members merge) and renew the lease")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(ProgressRequest)))
            .Produces<LeaseResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/jobs/{id}/complete", WorkerEndpoints.Complete)
            .WithTags("Workers").WithName("CompleteJob").Needs(JobkeeperRoles.Work, secured).WithSummary("Finish the attempt with a result")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(CompleteRequest)))
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/jobs/{id}/fail", WorkerEndpoints.Fail)
            .WithTags("Workers").WithName("FailJob").Needs(JobkeeperRoles.Work, secured).WithSummary("Fail the attempt; retried with backoff while attempts remain unless `retry` is false")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(FailRequest)))
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/jobs/{id}/release", WorkerEndpoints.Release)
            .WithTags("Workers").WithName("ReleaseJob").Needs(JobkeeperRoles.Work, secured).WithSummary("Give the job back unfinished: queued again at once, the attempt not counted")
            .WithMetadata(new JsonRequestBodyMetadata(typeof(LeaseRequest)))
            .Produces<Job>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    /// <summary>
    /// Marks the role an endpoint the app maps beside Jobkeeper's needs (e.g. a metrics scrape endpoint needs <c>read</c>) and,
    /// when Jobkeeper's authorization is on (<c>AddJobkeeperAuthorization</c> or <c>AddJobkeeperApiKeys</c>), requires its policy.
    /// </summary>
    public static TBuilder RequireJobkeeperRole<TBuilder>(this TBuilder builder, IEndpointRouteBuilder endpoints, string role)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (!JobkeeperRoles.IsKnown(role))
        {
            throw new ArgumentException($"'{role}' is not a Jobkeeper role; use one of {string.Join(", ", JobkeeperRoles.All)}.", nameof(role));
        }

        return builder.Needs(role, endpoints.ServiceProvider.GetService<JobkeeperAuthorizationMarker>() is not null);
    }

    /// <summary>Marks the role a route needs and, when Jobkeeper's authorization is on, requires its policy.</summary>
    private static TBuilder Needs<TBuilder>(this TBuilder builder, string role, bool secured)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new JobkeeperRoleMetadata(role));
        return secured ? builder.RequireAuthorization(JobkeeperRoles.PolicyName(role)) : builder;
    }
}
