using Jobkeeper.Caching;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;

namespace Jobkeeper;

/// <summary>
/// Loads, changes and stores jobs: reads through the hot cache, and changes compare-and-set against the store on the host's
/// clock. Everything that changes a job goes through here: the application's <see cref="JobManager"/>, the worker queue, the
/// lease reaper, the prompt expiry, retention and the keeper of app-driven jobs. It holds no rules of its own: the
/// change it is given decides (the transition table), and it only makes sure that change sees the state it replaces.
/// </summary>
internal sealed class JobKernel(IJobStore store, JobCache cache, TimeProvider time, JobkeeperInstruments instruments)
{
    private const int MaxChangeRetries = 64;

    public IJobStore Store => store;

    public JobCache Cache => cache;

    public JobkeeperInstruments Instruments => instruments;

    /// <summary>Now, at the store's precision (microseconds), so a time written and read back compares equal.</summary>
    public DateTimeOffset Now() => TimeMicros.Truncate(time.GetUtcNow());

    /// <summary>The job, or null when there is none. Memory first, then the store (which warms the cache).</summary>
    public ValueTask<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (store is ISharedJobStore shared)
        {
            return new ValueTask<Job?>(GetSharedAsync(shared, id, cancellationToken));
        }

        if (cache.TryGet(id, out var cached))
        {
            return ValueTask.FromResult(cached);
        }

        return new ValueTask<Job?>(LoadAsync(id, cancellationToken));
    }

    /// <summary>
    /// With a shared store another instance may have changed the job: a cached copy is served only once the
    /// store confirmed its version, so a read right after a write anywhere sees that write.
    /// </summary>
    private async Task<Job?> GetSharedAsync(ISharedJobStore shared, string id, CancellationToken cancellationToken)
    {
        if (cache.TryGet(id, out var cached) && cached is not null
            && await shared.IsCurrentAsync(id, cached.Version, cancellationToken).ConfigureAwait(false))
        {
            return cached;
        }

        return await LoadAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the current state compare-and-set. When another writer got there
    /// first, the committed state is read again and the change recomputed on top of it, so the rules always
    /// see the state they change and no writer's change is lost. Returns the stored job (the current one
    /// when the change was null: nothing to do).
    /// </summary>
    public async Task<Job> ChangeAsync(string id, Func<Job, JobReplacement?> change, CancellationToken cancellationToken)
    {
        // With a shared store the cached copy may be behind another instance's change. It is still a fine first
        // guess: the compare-and-set refuses a stale base. Only a verdict drawn from it (refused, or nothing to do)
        // is checked against the store before it is given.
        if (cache.TryGet(id, out var cached) && cached is not null)
        {
            return await ChangeFromAsync(id, cached, store is ISharedJobStore, change, cancellationToken).ConfigureAwait(false);
        }

        return await ChangeFromAsync(id, await LoadAsync(id, cancellationToken).ConfigureAwait(false), false, change, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// As <see cref="ChangeAsync(string, Func{Job, JobReplacement?}, CancellationToken)"/>, from a copy of the job read a moment
    /// ago (a page of a listing) instead of one more read: the compare-and-set refuses it if it is stale, and a verdict drawn
    /// from it is checked against the store. Bulk actions change 100,000 jobs this way with one read per page, not per job.
    /// </summary>
    public Task<Job> ChangeAsync(Job read, Func<Job, JobReplacement?> change, CancellationToken cancellationToken) =>
        ChangeFromAsync(read.Id, read, unconfirmed: true, change, cancellationToken);

    private async Task<Job> ChangeFromAsync(string id, Job? current, bool unconfirmed, Func<Job, JobReplacement?> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (current is null)
            {
                throw new JobNotFoundException(id);
            }

            if (current.Version == 0)
            {
                if (unconfirmed)
                {
                    unconfirmed = false;
                    current = await LoadAsync(id, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                // Created in an application's transaction that committed a moment ago: its creation is recorded first.
                throw new JobStateConflictException($"Job '{id}' is being created (its transaction just committed); try again in a moment.");
            }

            JobReplacement? replacement;
            try
            {
                replacement = change(current);
            }
            catch (JobkeeperException) when (unconfirmed)
            {
                replacement = null;
            }

            if (replacement is null && unconfirmed)
            {
                unconfirmed = false;
                current = await LoadAsync(id, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (replacement is null)
            {
                return current;
            }

            if (await store.ReplaceAsync(replacement, cancellationToken).ConfigureAwait(false))
            {
                instruments.RecordTransition(current, replacement.Job);
                return replacement.Job;
            }

            if (attempt >= MaxChangeRetries)
            {
                throw new JobStateConflictException($"Job '{id}' is changing too fast to update; try again.");
            }

            unconfirmed = false;
            current = await LoadAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<Job?> LoadAsync(string id, CancellationToken cancellationToken)
    {
        using var activity = JobkeeperTelemetry.Source.StartActivity("jobkeeper.job.load");
        activity?.SetTag("jobkeeper.job.id", id);
        var job = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (job is not null)
        {
            cache.Warm(job);
        }

        return job;
    }
}
