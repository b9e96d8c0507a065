using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Jobkeeper.Contracts;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Client;

/// <summary>
/// A typed client for the Jobkeeper HTTP API. Give it an <see cref="HttpClient"/> whose BaseAddress is the
/// server (e.g. http://127.0.0.1:8080/). Refusals throw <see cref="JobkeeperApiException"/> with the problem details.
/// </summary>
public sealed partial class JobkeeperClient(HttpClient http)
{
    private const string Api = "api/v1/";

    public HttpClient Http { get; } = http;

    /// <summary>
    /// Creates a job (201). A duplicate id is refused (409). With a <see cref="NewJob.UniqueKey"/> that an existing job blocks,
    /// the answer is that job with <see cref="Job.Existing"/> true (200): nothing was added.
    /// </summary>
    public Task<Job> CreateAsync(NewJob job, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, Api + "jobs", job, JobkeeperJsonContext.Default.NewJob, JobkeeperJsonContext.Default.Job, cancellationToken);

    /// <summary>
    /// Creates a job with an <c>Idempotency-Key</c>: sent again with the same key (after a lost answer, say) within the server's
    /// window, the answer is the job the first one made, whatever its status, with <see cref="Job.Existing"/> true.
    /// </summary>
    public async Task<Job> CreateIdempotentAsync(NewJob job, string idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, Api + "jobs") { Content = Json(job, JobkeeperJsonContext.Default.NewJob) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, JobkeeperJsonContext.Default.Job, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates up to 10,000 jobs in one transaction (<c>POST /api/v1/jobs/batch</c>). Each is answered on its own, in order:
    /// <c>created</c>, <c>existing</c> (its unique key was taken: that job), <c>duplicate_id</c> or <c>invalid</c> (with the field);
    /// a body that is not a batch at all throws.
    /// </summary>
    public Task<BatchCreateResponse> CreateManyAsync(IReadOnlyList<NewJob> jobs, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, Api + "jobs/batch", new BatchCreateRequest { Jobs = jobs }, JobkeeperJsonContext.Default.BatchCreateRequest,
            JobkeeperJsonContext.Default.BatchCreateResponse, cancellationToken);

    /// <summary>
    /// Creates a job (201) with <paramref name="input"/> as its input, serialised with <paramref name="typeInfo"/>
    /// when given, else as the API writes JSON (web defaults, snake_case names).
    /// </summary>
    public Task<Job> CreateAsync<TInput>(NewJob job, TInput input, JsonTypeInfo<TInput>? typeInfo = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return CreateAsync(job.WithInput(input, typeInfo), cancellationToken);
    }

    /// <summary>The job, or null when there is none.</summary>
    public async Task<Job?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(JobPath(id), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        return await ReadAsync(response, JobkeeperJsonContext.Default.Job, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The job; a missing one throws <see cref="JobkeeperApiException"/> (404) with the server's problem details.</summary>
    public async Task<Job> GetRequiredAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(JobPath(id), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, JobkeeperJsonContext.Default.Job, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every job matching the filters, newest first, page by page (the server's keyset cursor).</summary>
    public IAsyncEnumerable<Job> ListAsync(string? status = null, string? type = null, string? label = null, string? queue = null, int pageSize = 100,
        CancellationToken cancellationToken = default) =>
        ListAsync(status, type, label, queue, search: null, sort: null, pageSize, cancellationToken);

    /// <summary>
    /// Every job matching the filters, page by page; with <paramref name="search"/> only those whose id starts with it or whose
    /// type, labels, input, result and error have all its words (<c>q=</c>); in the order <paramref name="sort"/> names
    /// (<c>created</c>, <c>updated</c>, <c>priority</c>, <c>duration</c>, with <c>-</c> for descending), else newest first.
    /// </summary>
    public async IAsyncEnumerable<Job> ListAsync(string? status, string? type, string? label, string? queue, string? search, string? sort, int pageSize = 100,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? cursor = null;
        do
        {
            var query = new StringBuilder($"{Api}jobs?limit={pageSize.ToString(CultureInfo.InvariantCulture)}");
            Append(query, "status", status);
            Append(query, "type", type);
            Append(query, "queue", queue);
            Append(query, "label", label);
            Append(query, "q", search);
            Append(query, "sort", sort);
            Append(query, "cursor", cursor);
            using var response = await Http.GetAsync(query.ToString(), cancellationToken).ConfigureAwait(false);
            var page = await ReadAsync(response, JobkeeperJsonContext.Default.JobListResponse, cancellationToken).ConfigureAwait(false);
            foreach (var job in page.Items)
            {
                yield return job;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>
    /// The workers heard from in the last <paramref name="withinSeconds"/> seconds on any instance (in-process handlers and HTTP
    /// workers), and those holding running jobs: the jobs they hold, when last heard from, and what they did per minute.
    /// </summary>
    public async Task<IReadOnlyList<WorkerInfo>> GetWorkersAsync(int withinSeconds = 300, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync($"{Api}workers?within_seconds={withinSeconds.ToString(CultureInfo.InvariantCulture)}", cancellationToken).ConfigureAwait(false);
        return (await ReadAsync(response, JobkeeperJsonContext.Default.WorkerListResponse, cancellationToken).ConfigureAwait(false)).Items;
    }

    /// <summary>
    /// Retries, cancels or deletes every job <see cref="BulkActionRequest.Filter"/> matches (<c>POST /api/v1/jobs/bulk</c>);
    /// with <see cref="BulkActionRequest.DryRun"/> only counts them. <paramref name="actor"/> and <paramref name="reason"/> go
    /// to each changed job's events. Interrupted, the same call goes on where it stopped.
    /// </summary>
    public Task<BulkActionResponse> BulkAsync(BulkActionRequest request, string? actor = null, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, Api + "jobs/bulk", request, JobkeeperJsonContext.Default.BulkActionRequest, JobkeeperJsonContext.Default.BulkActionResponse,
            cancellationToken, actor, reason);

    /// <summary>
    /// Applies a JSON merge patch (status, progress, result, error, labels); with <paramref name="ifMatch"/> it is compare-and-set (412).
    /// <paramref name="actor"/> and <paramref name="reason"/> go to the change's events.
    /// </summary>
    public async Task<Job> UpdateAsync(string id, JsonElement patch, long? ifMatch = null, string? actor = null, string? reason = null,
        CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, JobPath(id)) { Content = Json(patch, JobkeeperJsonContext.Default.JsonElement) };
        AddActorHeaders(request, actor, reason);
        if (ifMatch is { } version)
        {
            request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{version.ToString(CultureInfo.InvariantCulture)}\""));
        }

        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, JobkeeperJsonContext.Default.Job, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Cancels the job; <paramref name="actor"/> and <paramref name="reason"/> go to its history.</summary>
    public Task<Job> CancelAsync(string id, string? actor = null, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, JobPath(id) + "/cancel", (string?)null, JobkeeperJsonContext.Default.String, JobkeeperJsonContext.Default.Job, cancellationToken, actor, reason);

    /// <summary>Queues a failed or cancelled job again; <paramref name="actor"/> and <paramref name="reason"/> go to its history.</summary>
    public Task<Job> RetryAsync(string id, string? actor = null, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, JobPath(id) + "/retry", (string?)null, JobkeeperJsonContext.Default.String, JobkeeperJsonContext.Default.Job, cancellationToken, actor, reason);

    /// <summary>Deletes the job with its history; <paramref name="actor"/> and <paramref name="reason"/> go to the server's log.</summary>
    public async Task DeleteAsync(string id, string? actor = null, string? reason = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, JobPath(id));
        AddActorHeaders(request, actor, reason);
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Answers the open prompt (the job is queued to run again). 409 when it was answered already; 422 when the answer does not fit.</summary>
    public Task<Job> AnswerAsync(string id, JsonElement answer, double? confidence = null, string? answeredBy = null, string? reason = null, string? key = null,
        CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, JobPath(id) + "/prompt/response", new AnswerPromptRequest { Answer = answer, Confidence = confidence, AnsweredBy = answeredBy, Reason = reason, Key = key },
            JobkeeperJsonContext.Default.AnswerPromptRequest, JobkeeperJsonContext.Default.Job, cancellationToken);

    /// <summary>The prompt a waiting job asks, or null when none is open.</summary>
    public async Task<JobPrompt?> GetPromptAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(JobPath(id) + "/prompt", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound && await ProblemKindAsync(response, cancellationToken).ConfigureAwait(false) == "no-open-prompt")
        {
            return null;
        }

        return await ReadAsync(response, JobkeeperJsonContext.Default.JobPrompt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A job's whole history after <paramref name="after"/>, oldest first (read page by page).</summary>
    public async Task<IReadOnlyList<JobEvent>> GetEventsAsync(string id, long after = 0, CancellationToken cancellationToken = default)
    {
        var events = new List<JobEvent>();
        long? next = after;
        while (next is { } from)
        {
            using var response = await Http.GetAsync($"{JobPath(id)}/events?after={from.ToString(CultureInfo.InvariantCulture)}", cancellationToken).ConfigureAwait(false);
            var page = await ReadAsync(response, JobkeeperJsonContext.Default.JobEventListResponse, cancellationToken).ConfigureAwait(false);
            events.AddRange(page.Items);
            next = page.NextAfter;
        }

        return events;
    }

    /// <summary>Deletes finished jobs completed more than <paramref name="days"/> days ago.</summary>
    public async Task<CleanupResponse> CleanupAsync(int days, CancellationToken cancellationToken = default)
    {
        using var response = await Http.DeleteAsync($"{Api}jobs/cleanup?days={days.ToString(CultureInfo.InvariantCulture)}", cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, JobkeeperJsonContext.Default.CleanupResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The server's health document (store, counts, cache); throws when the server says it is unhealthy (503).</summary>
    public async Task<JsonElement> GetHealthAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync("health", cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, JobkeeperJsonContext.Default.JsonElement, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The server's health document also when it says it is unhealthy (503 has the same shape; its <c>status</c>
    /// says why), for tools that show it either way; other refusals throw <see cref="JobkeeperApiException"/>.
    /// </summary>
    public async Task<JsonElement> GetHealthReportAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync("health", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            return await response.Content.ReadFromJsonAsync(JobkeeperJsonContext.Default.JsonElement, cancellationToken).ConfigureAwait(false);
        }

        return await ReadAsync(response, JobkeeperJsonContext.Default.JsonElement, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Names who asks (<c>X-Actor</c>) and why (<c>X-Reason</c>), percent-encoded so any text travels. Behind API keys the
    /// server records the key's name as the actor and <paramref name="actor"/> beside it as a display name.
    /// </summary>
    private static void AddActorHeaders(HttpRequestMessage request, string? actor, string? reason)
    {
        if (!string.IsNullOrWhiteSpace(actor))
        {
            request.Headers.TryAddWithoutValidation("X-Actor", Uri.EscapeDataString(actor));
        }

        if (!string.IsNullOrWhiteSpace(reason))
        {
            request.Headers.TryAddWithoutValidation("X-Reason", Uri.EscapeDataString(reason));
        }
    }

    private async Task<TResult> SendAsync<TBody, TResult>(HttpMethod method, string path, TBody? body, JsonTypeInfo<TBody> bodyInfo, JsonTypeInfo<TResult> resultInfo,
        CancellationToken cancellationToken, string? actor = null, string? reason = null)
    {
        using var request = new HttpRequestMessage(method, path);
        AddActorHeaders(request, actor, reason);
        if (body is not null)
        {
            request.Content = Json(body, bodyInfo);
        }

        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, resultInfo, cancellationToken).ConfigureAwait(false);
    }

    private static StringContent Json<T>(T value, JsonTypeInfo<T> info) =>
        new(JsonSerializer.Serialize(value, info), Encoding.UTF8, "application/json");

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> info, CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(stream, info, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException("The server answered with an empty body.");
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        ProblemResponse? problem = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            problem = text.Length > 0 ? JsonSerializer.Deserialize(text, JobkeeperJsonContext.Default.ProblemResponse) : null;
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's error page, say): the status says enough.
        }

        throw new JobkeeperApiException(response.StatusCode, problem?.Type, problem?.Title, problem?.Detail ?? response.ReasonPhrase);
    }

    private static async Task<string?> ProblemKindAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (JobkeeperApiException ex)
        {
            return ex.Kind;
        }
    }

    private static string JobPath(string id) => Api + "jobs/" + Uri.EscapeDataString(id);

    private static void Append(StringBuilder query, string name, string? value)
    {
        if (value is not null)
        {
            query.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
    }
}
