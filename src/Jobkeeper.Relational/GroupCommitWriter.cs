using System.Diagnostics;
using System.Threading.Channels;
using Jobkeeper.Errors;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Relational;

/// <summary>
/// The group-committing writer of both relational stores. Concurrent writes queue here; each loop takes everything
/// waiting when its transaction starts (up to a batch limit) and hands it to its <see cref="IGroupCommitter{TWrite}"/>,
/// which runs it as one transaction of the store's SQL. Each caller is answered only after the outcome is known,
/// and the policy is the same for every store:
/// <list type="bullet">
/// <item>committed: the observers are told (before the callers, so nothing is served stale), then the callers;</item>
/// <item>the connection broke with nothing committed (<see cref="CommitAttempt.MayRetry"/>): the batch is tried once more;</item>
/// <item>a statement failed (<see cref="CommitAttempt.ByStatement"/>): the batch is replayed one write per transaction, so
/// only the write at fault fails;</item>
/// <item>anything else (unreachable, damaged, outcome unknown): the batch fails with what the committer says.</item>
/// </list>
/// A loop never dies: a dead writer would leave every caller waiting forever.
/// </summary>
internal sealed class GroupCommitWriter<TWrite> : IAsyncDisposable
    where TWrite : class, IGroupCommitWrite
{
    private readonly Channel<TWrite> _queue;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly JobkeeperInstruments? _instruments;
    private readonly Task[] _loops;

    /// <param name="committers">One loop each; a store with several lets one transaction's round trips overlap the next.</param>
    /// <param name="instruments">Where commits are recorded (batch size, duration); none when null.</param>
    public GroupCommitWriter(IReadOnlyList<IGroupCommitter<TWrite>> committers, int maxBatch, ILogger logger, JobkeeperInstruments? instruments)
    {
        _instruments = instruments;
        _queue = Channel.CreateUnbounded<TWrite>(
            new UnboundedChannelOptions { SingleReader = committers.Count == 1, AllowSynchronousContinuations = false });
        _maxBatch = Math.Max(1, maxBatch);
        _logger = logger;
        _loops = committers.Select(committer => Task.Run(() => RunAsync(committer))).ToArray();
    }

    /// <summary>Queues a write; its caller awaits the write's own task.</summary>
    public void Enqueue(TWrite write)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            throw new StoreUnavailableException("The store is shutting down and accepts no more writes.");
        }
    }

    /// <summary>Stops accepting writes, commits everything already accepted, then closes the committers.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    private async Task RunAsync(IGroupCommitter<TWrite> committer)
    {
        var batch = new List<TWrite>(_maxBatch);
        var reader = _queue.Reader;
        TWrite? carried = null;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            carried = Fill(batch, carried, reader, _maxBatch);
            if (batch.Count == 0)
            {
                continue; // another loop took what was queued
            }

            try
            {
                await WriteBatchAsync(committer, batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogCritical(ex, "The store writer failed unexpectedly; {BatchSize} writes are refused", batch.Count);
                Fail(committer, batch, new CommitAttempt(CommitOutcome.Unknown, ex));
            }

            // The callers just answered usually write again at once; one yield lets them queue their
            // next writes so the following transaction carries a fuller group.
            if (carried is null)
            {
                await Task.Yield();
            }
        }

        await committer.DisposeAsync().ConfigureAwait(false);
    }

    private async Task WriteBatchAsync(IGroupCommitter<TWrite> committer, List<TWrite> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var attempt = await committer.TryCommitAsync(batch).ConfigureAwait(false);
        if (attempt.MayRetry)
        {
            _logger.LogWarning("A batch of {BatchSize} writes lost its connection and did not commit; trying it once more: {Error}",
                batch.Count, attempt.Error!.Message);
            attempt = await committer.TryCommitAsync(batch).ConfigureAwait(false);
        }

        if (attempt.Outcome == CommitOutcome.Committed)
        {
            Committed(committer, batch);
        }
        else if (attempt.ByStatement && batch.Count > 1)
        {
            _logger.LogWarning(attempt.Error, "A batch of {BatchSize} writes failed; replaying them one by one", batch.Count);
            var alone = new List<TWrite>(1);
            foreach (var write in batch)
            {
                alone.Clear();
                alone.Add(write);
                var result = await committer.TryCommitAsync(alone).ConfigureAwait(false);
                if (result.Outcome == CommitOutcome.Committed)
                {
                    Committed(committer, alone);
                }
                else
                {
                    _logger.LogError(result.Error, "A store write failed and was rolled back");
                    Fail(committer, alone, result);
                }
            }
        }
        else
        {
            Fail(committer, batch, attempt);
        }

        _instruments?.RecordCommit(batch.Count, Stopwatch.GetElapsedTime(started));
    }

    private void Committed(IGroupCommitter<TWrite> committer, List<TWrite> writes)
    {
        try
        {
            committer.Publish();
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Telling observers of a commit failed");
        }

        foreach (var write in writes)
        {
            write.Complete();
        }
    }

    private static void Fail(IGroupCommitter<TWrite> committer, List<TWrite> writes, CommitAttempt attempt)
    {
        foreach (var write in writes)
        {
            write.Fail(committer.Failure(attempt));
        }
    }

    /// <summary>
    /// Takes what is queued, up to <paramref name="maxBatch"/>, into <paramref name="batch"/>. A bulk write gets a
    /// transaction of its own, so the small writes queued beside it are answered first instead of waiting for it.
    /// Returns the bulk write to start the next batch with, if one had to wait.
    /// </summary>
    private static TWrite? Fill(List<TWrite> batch, TWrite? carried, ChannelReader<TWrite> reader, int maxBatch)
    {
        batch.Clear();
        if (carried is not null)
        {
            batch.Add(carried);
            if (carried.IsBulk)
            {
                return null;
            }
        }

        while (batch.Count < maxBatch && reader.TryRead(out var write))
        {
            if (write.IsBulk)
            {
                if (batch.Count > 0)
                {
                    return write;
                }

                batch.Add(write);
                return null;
            }

            batch.Add(write);
        }

        return null;
    }
}
