using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Streaming;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Server-Sent Events: every job's events, or one job's. A client that reconnects with <c>Last-Event-ID</c>
/// (or <c>?after=</c>) first gets what it missed, from the events table, then live events, without gaps or
/// duplicates (event ids follow commit order). A client too far behind is told (<c>overflow</c>) and cut off.
/// </summary>
internal static class StreamEndpoints
{
    private const int ReplayPage = 500;
    private const int LiveBuffer = 1024;

    public static Task<IResult> All(HttpContext http, IJobStore store, JobEventHub hub, IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        var after = ResumeAfter(http.Request);
        var types = Values(http.Request.Query["type"]);
        var statuses = Values(http.Request.Query["status"]).Select(ParseStatus).ToHashSet();
        bool Matches(string? type, JobStatus? status) =>
            (types.Count == 0 || (type is not null && types.Contains(type))) && (statuses.Count == 0 || (status is { } s && statuses.Contains(s)));
        // Subscribed before the headers go out: a client that sees the stream open misses nothing committed after.
        var live = hub.Subscribe(LiveBuffer);
        return WriteAsync(http, live, lifetime, token => StreamAsync(store, live, after, jobId: null, Matches, token), cancellationToken);
    }

    public static async Task<IResult> OneJob(string id, HttpContext http, JobManager manager, IJobStore store, JobEventHub hub, IHostApplicationLifetime lifetime,
        CancellationToken cancellationToken)
    {
        _ = await manager.GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        var after = ResumeAfter(http.Request);
        var live = hub.Subscribe(LiveBuffer);
        return await WriteAsync(http, live, lifetime, token => StreamAsync(store, live, after, id, (_, _) => true, token), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the headers at once (a quiet stream must still show the client it is open), then the events as they come,
    /// until the client goes away or the application starts stopping. A stream never ends by itself, so without the
    /// second the host would wait out its whole shutdown timeout and then reset the connection; instead the stream
    /// ends cleanly (a client resumes elsewhere, or later, with Last-Event-ID) and the stop goes on at once.
    /// </summary>
    private static async Task<IResult> WriteAsync(HttpContext http, JobEventHub.Subscription live, IHostApplicationLifetime lifetime,
        Func<CancellationToken, IAsyncEnumerable<SseItem<string>>> items, CancellationToken cancellationToken)
    {
        using var subscription = live;
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.Pragma = "no-cache";
        response.Headers.ContentEncoding = "identity";
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await response.StartAsync(ended.Token).ConfigureAwait(false);
            await response.Body.FlushAsync(ended.Token).ConfigureAwait(false);
            await SseFormatter.WriteAsync(items(ended.Token), response.Body, ended.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
            // The client went away, or the application is stopping: the response ends here.
        }

        return Results.Empty;
    }

    /// <summary>Replays what the client missed, then the live events (subscribed before the replay, so nothing in between is missed; ids already sent are skipped).</summary>
    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(IJobStore store, JobEventHub.Subscription live, long? after, string? jobId,
        Func<string?, JobStatus?, bool> matches, [EnumeratorCancellation] CancellationToken cancellationToken)
    {

        var last = after ?? 0;
        if (after is not null)
        {
            while (true)
            {
                var page = await store.GetFeedAsync(last, ReplayPage, jobId, cancellationToken).ConfigureAwait(false);
                foreach (var (e, type, status) in page)
                {
                    last = e.Id;
                    if (matches(type, status))
                    {
                        yield return Item(e, type, status);
                    }
                }

                if (page.Count < ReplayPage)
                {
                    break;
                }
            }
        }

        await foreach (var item in live.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var e = item.Event;
            if (e.Id <= last || (jobId is not null && e.JobId != jobId))
            {
                continue;
            }

            last = e.Id;
            if (matches(item.JobType, item.JobStatus))
            {
                yield return Item(e, item.JobType, item.JobStatus);
            }
        }

        if (live.Overflowed)
        {
            yield return new SseItem<string>(Json(StreamEvent.Overflow(last)), "overflow");
        }
    }

    private static SseItem<string> Item(JobEvent e, string? type, JobStatus? status) =>
        new(Json(StreamEvent.From(e, type, status)), e.Type) { EventId = e.Id.ToString(CultureInfo.InvariantCulture) };

    // Serialised here with the API's own context, so timestamps and names match every other response.
    private static string Json(StreamEvent item) => System.Text.Json.JsonSerializer.Serialize(item, ApiJson.Context.StreamEvent);

    /// <summary>Where to resume: <c>Last-Event-ID</c> (sent by browsers on reconnect) or <c>?after=</c>; null to start live.</summary>
    private static long? ResumeAfter(HttpRequest request)
    {
        var text = request.Headers["Last-Event-ID"].ToString();
        var field = "Last-Event-ID";
        if (text.Length == 0)
        {
            text = request.Query["after"].ToString();
            field = "after";
        }

        if (text.Length == 0)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new JobValidationException(field, $"must be an event id (a whole number, zero or more), not '{ContractErrors.Shorten(text)}'");
    }

    private static List<string> Values(Microsoft.Extensions.Primitives.StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    private static JobStatus ParseStatus(string name) =>
        JobStatusNames.TryParse(name, out var status)
            ? status
            : throw new JobValidationException("status", $"'{ContractErrors.Shorten(name)}' is not a status; use one of: {JobStatusNames.ValidNames}");
}
