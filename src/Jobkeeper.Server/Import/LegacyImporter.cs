using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Client;
using Jobkeeper.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Server.Import;

/// <summary>Where imported jobs go: a store opened directly, or a running server.</summary>
internal interface IImportTarget : IAsyncDisposable
{
    string Description { get; }

    Task<bool> ExistsAsync(string id, CancellationToken cancellationToken);

    /// <summary>Inserts the job as it is; false when a job with its id exists already.</summary>
    Task<bool> InsertAsync(Job job, CancellationToken cancellationToken);
}

/// <summary>Straight into a store: the job keeps its status, progress and legacy timestamps exactly.</summary>
internal sealed class StoreImportTarget(IJobStore store) : IImportTarget
{
    public string Description => $"{store.Description.Provider} {store.Description.Location}";

    public async Task<bool> ExistsAsync(string id, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is not null;

    public Task<bool> InsertAsync(Job job, CancellationToken cancellationToken)
    {
        var created = new JobEvent
        {
            JobId = job.Id,
            Type = JobEventTypes.Created,
            At = job.CreatedAt,
            Actor = "import",
            Version = job.Version,
            Data = JsonSerializer.SerializeToElement(
                new Dictionary<string, string> { ["imported_from"] = "legacy", ["status"] = job.Status.ToName() },
                CoreJsonContext.Default.DictionaryStringString),
        };
        return store.InsertAsync(job, created, cancellationToken);
    }

    public ValueTask DisposeAsync() => store.DisposeAsync();
}

/// <summary>
/// Through a running server's API: created with its id, then moved to its status (queued → running → completed,
/// queued → failed, queued → cancelled). The server sets its own timestamps, so the legacy ones are kept as
/// labels <c>legacy_created_at</c>, <c>legacy_started_at</c>, <c>legacy_completed_at</c>.
/// </summary>
internal sealed class ServerImportTarget(HttpClient http) : IImportTarget
{
    private readonly JobkeeperClient _client = new(http);

    public string Description => $"server {http.BaseAddress}";

    public async Task<bool> ExistsAsync(string id, CancellationToken cancellationToken) =>
        await _client.GetAsync(id, cancellationToken).ConfigureAwait(false) is not null;

    public async Task<bool> InsertAsync(Job job, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string>(job.Labels, StringComparer.Ordinal);
        AddTime(labels, "legacy_created_at", job.CreatedAt);
        AddTime(labels, "legacy_started_at", job.StartedAt);
        AddTime(labels, "legacy_completed_at", job.CompletedAt);
        try
        {
            await _client.CreateAsync(new NewJob
            {
                Id = job.Id,
                Type = job.Type,
                Input = job.Input,
                Labels = labels,
                Priority = job.Priority,
                MaxAttempts = job.MaxAttempts,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (JobkeeperApiException ex) when (ex.Status == HttpStatusCode.Conflict)
        {
            return false;
        }

        var last = new JsonObject();
        if (job.Progress is { } progress)
        {
            last["progress"] = JsonSerializer.SerializeToNode(progress, CoreJsonContext.Default.JobProgress);
        }

        switch (job.Status)
        {
            case JobStatus.Completed:
                await PatchAsync(job.Id, new JsonObject { ["status"] = "running" }, cancellationToken).ConfigureAwait(false);
                last["status"] = "completed";
                if (job.Result is { } result)
                {
                    last["result"] = JsonNode.Parse(result.GetRawText());
                }

                break;
            case JobStatus.Failed:
                last["status"] = "failed";
                last["error"] = JsonSerializer.SerializeToNode(job.Error, CoreJsonContext.Default.JobError);
                break;
            case JobStatus.Cancelled:
                last["status"] = "cancelled";
                break;
        }

        if (last.Count > 0)
        {
            await PatchAsync(job.Id, last, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task PatchAsync(string id, JsonObject patch, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(patch.ToJsonString());
        await _client.UpdateAsync(id, doc.RootElement, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static void AddTime(Dictionary<string, string> labels, string key, DateTimeOffset? time)
    {
        if (time is { } t && labels.Count < JobLimits.MaxLabels)
        {
            labels[key] = t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public ValueTask DisposeAsync()
    {
        http.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal enum ImportOutcomeKind
{
    Imported,
    WouldImport,
    Exists,
    Invalid,
    Failed,
}

internal sealed record ImportOutcome(string? Id, ImportOutcomeKind Kind, string? Reason, Job? Job, IReadOnlyList<string> Notes);

/// <summary>Maps a legacy file and writes what it maps to a target, skipping ids that exist already.</summary>
internal static class LegacyImporter
{
    /// <param name="progress">Told after each record (for a progress bar).</param>
    public static async Task<IReadOnlyList<ImportOutcome>> ImportAsync(IReadOnlyList<LegacyRecord> records, IImportTarget target, bool dryRun,
        CancellationToken cancellationToken, Action? progress = null)
    {
        var outcomes = new List<ImportOutcome>(records.Count);
        foreach (var record in records)
        {
            progress?.Invoke();
            if (record.Job is not { } job)
            {
                outcomes.Add(new(record.Id, ImportOutcomeKind.Invalid, record.SkipReason, null, record.Notes));
                continue;
            }

            try
            {
                bool inserted;
                if (dryRun)
                {
                    inserted = !await target.ExistsAsync(job.Id, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    inserted = await target.InsertAsync(job, cancellationToken).ConfigureAwait(false);
                }

                outcomes.Add(inserted
                    ? new(job.Id, dryRun ? ImportOutcomeKind.WouldImport : ImportOutcomeKind.Imported, null, job, record.Notes)
                    : new(job.Id, ImportOutcomeKind.Exists, "a job with this id exists already (imported before?)", job, record.Notes));
            }
            catch (JobkeeperApiException ex)
            {
                outcomes.Add(new(job.Id, ImportOutcomeKind.Failed, $"{(int)ex.Status} {ex.Detail ?? ex.Message}", job, record.Notes));
            }
        }

        return outcomes;
    }
}
