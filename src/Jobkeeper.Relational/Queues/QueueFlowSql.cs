using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Queues;

/// <summary>
/// The statements flow control runs inside a claim's transaction, for both stores (their dialect spells parameters,
/// lists and index hints). Each walks a partial index: ix_jobs_running_queue for what runs, ix_jobs_claim_queue for an
/// unpartitioned queue's due jobs, ix_jobs_claim_partition for a partitioned one's keys and their heads.
/// </summary>
internal static class QueueFlowSql
{
    private static readonly string SelectList = JobColumns.SelectList("j");

    /// <summary>The queue's running jobs, counted per partition key (one row with a null key when unpartitioned).</summary>
    public static SqlQuery Running(ISqlDialect dialect, string queue)
    {
        var p = new SqlParameters(dialect);
        return new($"SELECT partition_key, COUNT(*) FROM jobs{dialect.IndexedBy("ix_jobs_running_queue")} " +
            $"WHERE status = {StatusSql.Of(JobStatus.Running)} AND queue = {p.Add("queue", queue)} GROUP BY partition_key", p.Values);
    }

    /// <summary>The queue's starts after <paramref name="sinceMicros"/>, counted per partition key.</summary>
    public static SqlQuery Starts(ISqlDialect dialect, string queue, long sinceMicros)
    {
        var p = new SqlParameters(dialect);
        return new($"SELECT key, COUNT(*) FROM queue_starts WHERE queue = {p.Add("queue", queue)} AND at_us > {p.Add("since", sinceMicros)} GROUP BY key",
            p.Values);
    }

    /// <summary>Forgets the starts that left every window (at or before <paramref name="sinceMicros"/>).</summary>
    public static SqlQuery PruneStarts(ISqlDialect dialect, string queue, long sinceMicros)
    {
        var p = new SqlParameters(dialect);
        return new($"DELETE FROM queue_starts WHERE queue = {p.Add("queue", queue)} AND at_us <= {p.Add("since", sinceMicros)}", p.Values);
    }

    public static SqlQuery RecordStarts(ISqlDialect dialect, string queue, IReadOnlyList<string> keys, long atMicros)
    {
        var p = new SqlParameters(dialect);
        var q = p.Add("queue", queue);
        var at = p.Add("at", atMicros);
        var rows = string.Join(", ", keys.Select((k, i) => $"({q}, {p.Add($"k{i}", k)}, {at})"));
        return new($"INSERT INTO queue_starts (queue, key, at_us) VALUES {rows}", p.Values);
    }

    public static SqlQuery Turn(ISqlDialect dialect, string queue)
    {
        var p = new SqlParameters(dialect);
        return new($"SELECT last_key FROM queue_turns WHERE queue = {p.Add("queue", queue)}", p.Values);
    }

    public static SqlQuery SaveTurn(ISqlDialect dialect, string queue, string lastKey)
    {
        var p = new SqlParameters(dialect);
        return new($"INSERT INTO queue_turns (queue, last_key) VALUES ({p.Add("queue", queue)}, {p.Add("key", lastKey)}) " +
            "ON CONFLICT (queue) DO UPDATE SET last_key = excluded.last_key", p.Values);
    }

    /// <summary>Up to <paramref name="limit"/> due queued jobs of an unpartitioned queue, in claim order.</summary>
    public static SqlQuery Due(ISqlDialect dialect, FlowWalk walk, int limit)
    {
        var p = new SqlParameters(dialect);
        var sql = $"SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_claim_queue")} WHERE j.status = {StatusSql.Of(JobStatus.Queued)} " +
            $"AND j.queue = {p.Add("queue", walk.Queue)} AND j.run_at_us <= {p.Add("now", walk.NowMicros)}{Filters(dialect, p, walk)} " +
            $"ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT {p.Add("limit", limit)}{dialect.LockSkippingLocked}";
        return new(sql, p.Values);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> partition keys of a queue's queued jobs after <paramref name="after"/> (from the first
    /// when null), in key order: a skip scan of ix_jobs_claim_partition, one index probe per key, however many jobs a key holds.
    /// </summary>
    public static SqlQuery KeysAfter(ISqlDialect dialect, string queue, string? after, int limit)
    {
        var p = new SqlParameters(dialect);
        var q = p.Add("queue", queue);
        var from = after is null ? "" : $" AND partition_key > {p.Add("after", after)}";
        var probe = $"SELECT partition_key FROM jobs{dialect.IndexedBy("ix_jobs_claim_partition")} WHERE status = {StatusSql.Of(JobStatus.Queued)} " +
            $"AND queue = {q} AND partition_key IS NOT NULL";
        var sql = $"WITH RECURSIVE k(key) AS (SELECT ({probe}{from} ORDER BY partition_key LIMIT 1) " +
            $"UNION ALL SELECT ({probe} AND partition_key > k.key ORDER BY partition_key LIMIT 1) FROM k WHERE k.key IS NOT NULL) " +
            $"SELECT key FROM k WHERE key IS NOT NULL LIMIT {p.Add("limit", limit)}";
        return new(sql, p.Values);
    }

    /// <summary>
    /// Whether a queue other than <paramref name="flowQueues"/> holds queued jobs (one row, 1 or 0): a skip scan of
    /// ix_jobs_claim_queue, one index probe per queue however many jobs it holds, that stops at the first such queue.
    /// </summary>
    public static SqlQuery OthersQueued(ISqlDialect dialect, IReadOnlyList<string> flowQueues)
    {
        var p = new SqlParameters(dialect);
        return new($"{QueuesWithQueued(dialect)} SELECT {OthersQueuedTerm(dialect, p, flowQueues)}", p.Values);
    }

    /// <summary>
    /// A claim's walk of one type's due jobs (ix_jobs_claim) in every queue but the flow-controlled ones, which it walks apart.
    /// The walk passes over the flow-controlled queues' jobs of the type, so it is worth running only when some other queue
    /// holds queued jobs at all (<see cref="OthersQueued"/>): a type whose jobs all wait in flow-controlled queues cost every
    /// claim a read of all of them (16 ms with 50,000 queued). <paramref name="gated"/> puts that check in the statement
    /// (PostgreSQL runs it once, before the walk, as a one-time filter); SQLite checks such a term on each row, so it asks
    /// <see cref="OthersQueued"/> first, apart.
    /// </summary>
    public static SqlQuery TypeOutside(ISqlDialect dialect, string type, IReadOnlyList<string> flowQueues, long nowMicros, int limit, bool gated)
    {
        var p = new SqlParameters(dialect);
        var gate = gated ? $"{QueuesWithQueued(dialect)} SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_claim")} WHERE {OthersQueuedTerm(dialect, p, flowQueues)} AND "
            : $"SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_claim")} WHERE ";
        var sql = gate + $"j.status = {StatusSql.Of(JobStatus.Queued)} AND j.type = {p.Add("type", type)} AND j.run_at_us <= {p.Add("now", nowMicros)} " +
            $"AND NOT ({dialect.AnyOf(p, "j.queue", "flow", flowQueues)}) ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT {p.Add("limit", limit)}{dialect.LockSkippingLocked}";
        return new(sql, p.Values);
    }

    /// <summary>Over <see cref="QueuesWithQueued"/>: whether one of its queues is not among <paramref name="flowQueues"/>.</summary>
    private static string OthersQueuedTerm(ISqlDialect dialect, SqlParameters p, IReadOnlyList<string> flowQueues) =>
        $"EXISTS (SELECT 1 FROM q WHERE name IS NOT NULL AND NOT ({dialect.AnyOf(p, "name", "held", flowQueues)}))";

    /// <summary>A recursive <c>q(name)</c> of the queues with queued jobs, in name order, ending with a null.</summary>
    private static string QueuesWithQueued(ISqlDialect dialect)
    {
        var probe = $"SELECT queue FROM jobs{dialect.IndexedBy("ix_jobs_claim_queue")} WHERE status = {StatusSql.Of(JobStatus.Queued)}";
        return $"WITH RECURSIVE q(name) AS (SELECT ({probe} ORDER BY queue LIMIT 1) " +
            $"UNION ALL SELECT ({probe} AND queue > q.name ORDER BY queue LIMIT 1) FROM q WHERE q.name IS NOT NULL)";
    }

    /// <summary>
    /// The next due queued job of each of <paramref name="keys"/>, in claim order within its key (priority, then run_at, then
    /// id), passing over the first <paramref name="offsets"/> of each (the ones this transaction took already and has not
    /// written yet): one row per key that has one, the job's columns then the key.
    /// </summary>
    public static SqlQuery Heads(ISqlDialect dialect, FlowWalk walk, IReadOnlyList<string> keys, IReadOnlyList<int> offsets)
    {
        var p = new SqlParameters(dialect);
        var q = p.Add("queue", walk.Queue);
        var now = p.Add("now", walk.NowMicros);
        var filters = Filters(dialect, p, walk, skipIds: false);
        return new(dialect.HeadsOfKeys(p, q, now, filters, keys, offsets), p.Values);
    }

    /// <summary>One key's head, for <see cref="ISqlDialect.HeadsOfKeys"/>: <paramref name="key"/> and <paramref name="offset"/> are placeholders or columns.</summary>
    public static string HeadOf(ISqlDialect dialect, string queue, string now, string filters, string key, string offset) =>
        $"SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_claim_partition")} WHERE j.status = {StatusSql.Of(JobStatus.Queued)} " +
        $"AND j.queue = {queue} AND j.partition_key = {key} AND j.run_at_us <= {now}{filters} " +
        $"ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT 1 OFFSET {offset}{dialect.LockSkippingLocked}";

    /// <summary>The partition key a job is in (null when its queue is not partitioned).</summary>
    public static SqlQuery PartitionKeyOfJob(ISqlDialect dialect, string id)
    {
        var p = new SqlParameters(dialect);
        return new($"SELECT partition_key FROM jobs WHERE id = {p.Add("id", id)}", p.Values);
    }

    /// <summary>The claim's types (when it names any), not the types paused in the queue, not the jobs taken already.</summary>
    private static string Filters(ISqlDialect dialect, SqlParameters p, FlowWalk walk, bool skipIds = true)
    {
        var sql = "";
        if (walk.Types.Count > 0)
        {
            sql += " AND " + dialect.AnyOf(p, "j.type", "type", walk.Types);
        }

        if (walk.PausedTypes.Count > 0)
        {
            sql += " AND NOT (" + dialect.AnyOf(p, "j.type", "paused", walk.PausedTypes) + ")";
        }

        if (skipIds && walk.Skip.Count > 0 && dialect.LockSkippingLocked.Length > 0)
        {
            // Only where a claim's rows stay where they are until the transaction writes them all (PostgreSQL): other claims
            // of the same transaction may have picked them. SQLite writes each claim before the next picks.
            sql += " AND NOT (" + dialect.AnyOf(p, "j.id", "skip", [.. walk.Skip]) + ")";
        }

        return sql;
    }
}

/// <summary>One flow-controlled queue as a claim walks it: the types it asks for, the types paused there, the ids taken.</summary>
internal sealed record FlowWalk(string Queue, IReadOnlyList<string> Types, IReadOnlyList<string> PausedTypes, long NowMicros, HashSet<string> Skip);
