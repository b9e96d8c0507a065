using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Queues;

/// <summary>
/// Flow control in a claim: how many jobs a flow-controlled queue may still start, and which. Runs inside the claim's
/// transaction, after the store made sure no other claim of the queue runs at once (SQLite has one writer; PostgreSQL
/// takes the queue's lock), so what it counts is exact over every instance.
/// <para>
/// Fairness is round robin over partition keys, in key order, from where the last claim stopped (kept in
/// <c>queue_turns</c>): each key with a due job gets one start per turn, so one key's 100,000 jobs wait their turn beside
/// another key's 3. Chosen over weighted fair queuing and per-key virtual times because it needs no state per key
/// (keys are not declared and may be millions): the next keys come from a skip scan of the partition index, one probe
/// per key however many jobs it holds. Within a key, jobs keep the claim order (priority, then run_at, then id).
/// </para>
/// </summary>
internal static class QueueFlow
{
    /// <summary>The most partition keys one claim looks at, per job it may still take (keys whose jobs are not due yet cost a probe each).</summary>
    private const int KeysPerJob = 8;

    /// <summary>
    /// Picks up to <paramref name="want"/> due jobs of <paramref name="queue"/> that its limits let start now (each also
    /// passing <paramref name="accept"/>, which refuses none when <paramref name="mayRefuse"/> is false), records their starts
    /// where a rate limit counts them, and returns them in the order taken. Ids in <paramref name="skip"/> are passed over;
    /// the ids taken are added to it.
    /// </summary>
    public static async ValueTask<List<Job>> PickAsync(IFlowSession session, QueueSettings queue, IReadOnlyList<string> types, DateTimeOffset now,
        int want, Func<Job, bool> accept, bool mayRefuse, HashSet<string> skip, CancellationToken cancellationToken, FlowPending? pending = null)
    {
        if (queue.Paused || want <= 0)
        {
            return [];
        }

        var nowMicros = TimeMicros.From(now);
        var walk = new FlowWalk(queue.Name, types, queue.PausedTypes, nowMicros, skip);
        // One round trip (PostgreSQL) for what runs, the starts in the window, and either the due jobs (when a claim's per-type
        // limits may refuse some rows, a few more than it wants are read; each row read is a whole job, about half the pick's
        // time on SQLite) or where the partitions' turn stopped.
        var queries = QueueLoad.Queries(session.Dialect, queue, nowMicros);
        queries.Add(queue.Partition is null
            ? (QueueFlowSql.Due(session.Dialect, walk, mayRefuse ? Math.Min(want * 2, want + 64) : want), r => JobColumns.Read(r))
            : (QueueFlowSql.Turn(session.Dialect, queue.Name), r => r.GetString(0)));
        var results = await session.QueryManyAsync(queries, cancellationToken).ConfigureAwait(false);
        var due = queue.Partition is null ? results[^1].Cast<Job>().ToList() : null;
        if (due is { Count: 0 })
        {
            return [];
        }

        var load = QueueLoad.From(queue, results, pending);
        var room = want;
        if (queue.ConcurrencyLimit is { } limit)
        {
            room = Math.Min(room, limit - load.Running);
        }

        if (queue.RateLimit is { PerKey: false } rate)
        {
            room = Math.Min(room, rate.Count - load.Started);
        }

        if (room <= 0)
        {
            return [];
        }

        var taken = new List<(Job Job, string Key)>(room);
        string? lastServed = null;
        if (due is not null)
        {
            foreach (var job in due)
            {
                if (taken.Count == room)
                {
                    break;
                }

                if (!skip.Contains(job.Id) && accept(job))
                {
                    skip.Add(job.Id);
                    taken.Add((job, ""));
                }
            }
        }
        else
        {
            lastServed = await TakeTurnsAsync(session, queue, walk, load, room, accept, taken, pending,
                results[^1].Cast<string>().FirstOrDefault(), cancellationToken).ConfigureAwait(false);
        }

        foreach (var (_, key) in taken)
        {
            pending?.Add(queue.Name, key);
        }

        // The writes of the pick in one round trip: the starts a rate limit counts, and where the partitions' turn stopped.
        var writes = new List<SqlQuery>();
        if (taken.Count > 0 && queue.RateLimit is { } counted)
        {
            // Kept a window and a minute longer than counted: a claim that read its clock earlier may commit after this one
            // and must still find every start of its own window.
            var since = QueueLoad.WindowStart(counted, nowMicros) - counted.PeriodSeconds * 1_000_000L - 60_000_000L;
            writes.Add(QueueFlowSql.PruneStarts(session.Dialect, queue.Name, since));
            writes.Add(QueueFlowSql.RecordStarts(session.Dialect, queue.Name, [.. taken.Select(t => t.Key)], nowMicros));
        }

        if (lastServed is not null)
        {
            writes.Add(QueueFlowSql.SaveTurn(session.Dialect, queue.Name, lastServed));
        }

        if (writes.Count > 0)
        {
            await session.ExecuteManyAsync(writes, cancellationToken).ConfigureAwait(false);
        }

        return [.. taken.Select(t => t.Job)];
    }

    /// <summary>
    /// Round robin: walks the keys after the last one served (wrapping around once per turn), takes each key's head job while
    /// the key has room, and starts another turn while jobs were taken and there is room left.
    /// </summary>
    /// <returns>The key served last (where the next claim's turn starts after), or null when none was.</returns>
    private static async ValueTask<string?> TakeTurnsAsync(IFlowSession session, QueueSettings queue, FlowWalk walk, QueueLoad load, int room,
        Func<Job, bool> accept, List<(Job Job, string Key)> taken, FlowPending? pending, string? turnStart, CancellationToken cancellationToken)
    {
        var partition = queue.Partition!;
        var perKeyRate = queue.RateLimit is { PerKey: true } rate ? rate.Count : (int?)null;
        var takenByKey = new Dictionary<string, int>(StringComparer.Ordinal);
        bool HasRoom(string key)
        {
            var mine = takenByKey.GetValueOrDefault(key);
            return (partition.Limit is not { } limit || load.RunningOf(key) + mine < limit)
                && (perKeyRate is not { } count || load.StartedOf(key) + mine < count);
        }

        var cursor = turnStart;
        var wrapped = turnStart is null;
        var takenThisTurn = 0;
        string? lastServed = null;
        var budget = Math.Max(64, room * KeysPerJob);
        var rounds = 0;
        while (taken.Count < room && budget > 0)
        {
            // Each key read is an index probe. The first read takes a few more keys than jobs wanted: while no limit binds,
            // every key has room and a due head. A key without either sends the pick round again, for twice as many.
            var need = room - taken.Count;
            var want = rounds++ == 0 ? need + need / 8 + 2 : 2 * need + 4;
            var keys = await session.QueryAsync(QueueFlowSql.KeysAfter(session.Dialect, queue.Name, cursor, Math.Min(budget, want)),
                r => r.GetString(0), cancellationToken).ConfigureAwait(false);
            budget -= keys.Count;
            var turnEnds = keys.Count == 0;
            if (wrapped && turnStart is not null)
            {
                // After wrapping, this turn ends at the key it started after.
                var inTurn = keys.TakeWhile(k => string.CompareOrdinal(k, turnStart) <= 0).ToList();
                turnEnds |= inTurn.Count < keys.Count;
                keys = inTurn;
            }

            // The keys this round looks at: up to the one that fills the room (the rest wait for the next round or claim).
            var eligible = new List<string>();
            var considered = 0;
            while (considered < keys.Count && eligible.Count < room - taken.Count)
            {
                if (HasRoom(keys[considered]))
                {
                    eligible.Add(keys[considered]);
                }

                considered++;
            }

            if (considered < keys.Count)
            {
                keys = keys[..considered];
                turnEnds = false;
            }

            if (eligible.Count > 0)
            {
                // Each key's next head: past what this claim (and, on PostgreSQL, the transaction's earlier claims) took from it.
                var offsets = eligible.Select(k => takenByKey.GetValueOrDefault(k) + (pending?.RunningOf(queue.Name, k) ?? 0)).ToList();
                var heads = await session.QueryAsync(QueueFlowSql.Heads(session.Dialect, walk, eligible, offsets),
                    r => (Job: JobColumns.Read(r), Key: r.GetString(JobColumns.Selected.Count)), cancellationToken).ConfigureAwait(false);
                var order = eligible.Select((k, i) => (k, i)).ToDictionary(x => x.k, x => x.i, StringComparer.Ordinal);
                foreach (var (job, key) in heads.OrderBy(h => order[h.Key]))
                {
                    if (taken.Count == room)
                    {
                        break;
                    }

                    if (!walk.Skip.Contains(job.Id) && accept(job))
                    {
                        walk.Skip.Add(job.Id);
                        taken.Add((job, key));
                        takenByKey[key] = takenByKey.GetValueOrDefault(key) + 1;
                        takenThisTurn++;
                        lastServed = key;
                    }
                }
            }

            if (keys.Count > 0)
            {
                cursor = keys[^1];
            }

            if (!turnEnds)
            {
                continue;
            }

            if (!wrapped)
            {
                // The keys after the turn's start are done: go on from the first key.
                wrapped = true;
                cursor = null;
                continue;
            }

            if (takenThisTurn == 0)
            {
                break;
            }

            // Another turn, from the key served last.
            takenThisTurn = 0;
            turnStart = lastServed;
            cursor = lastServed;
            wrapped = false;
        }

        return lastServed;
    }

    /// <summary>
    /// Why <paramref name="job"/> is held back (<see cref="JobBlockedBy"/>), or null: only a queued, due job of a queue whose
    /// settings hold jobs back can be.
    /// </summary>
    public static async ValueTask<string?> BlockedByAsync(IFlowSession session, QueueSettings queue, Job job, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (job.Status != JobStatus.Queued || job.RunAt > now || !queue.HoldsBack)
        {
            return null;
        }

        if (queue.Paused)
        {
            return JobBlockedBy.Paused;
        }

        if (queue.PausedTypes.Contains(job.Type, StringComparer.Ordinal))
        {
            return JobBlockedBy.TypePaused;
        }

        var load = await QueueLoad.ReadAsync(session, queue, TimeMicros.From(now), cancellationToken).ConfigureAwait(false);
        if (queue.ConcurrencyLimit is { } limit && load.Running >= limit)
        {
            return JobBlockedBy.ConcurrencyLimit;
        }

        if (queue.RateLimit is { PerKey: false } rate && load.Started >= rate.Count)
        {
            return JobBlockedBy.RateLimit;
        }

        if (queue.Partition is not { } partition)
        {
            return null;
        }

        var keys = await session.QueryAsync(QueueFlowSql.PartitionKeyOfJob(session.Dialect, job.Id), r => r.IsDBNull(0) ? null : r.GetString(0), cancellationToken)
            .ConfigureAwait(false);
        if (keys is not [{ } key])
        {
            return null;
        }

        if (partition.Limit is { } perKey && load.RunningOf(key) >= perKey)
        {
            return JobBlockedBy.PartitionLimit;
        }

        return queue.RateLimit is { PerKey: true } keyRate && load.StartedOf(key) >= keyRate.Count ? JobBlockedBy.RateLimit : null;
    }
}
