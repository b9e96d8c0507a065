using System.Data.Common;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Queues;

/// <summary>What a flow-controlled queue runs now and started in its rate window, in all and per partition key.</summary>
internal sealed class QueueLoad
{
    private readonly Dictionary<string, int> _runningByKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _startedByKey = new(StringComparer.Ordinal);

    public int Running { get; private set; }

    public int Started { get; private set; }

    public int RunningOf(string key) => _runningByKey.GetValueOrDefault(key);

    public int StartedOf(string key) => _startedByKey.GetValueOrDefault(key);

    /// <summary>Reads the load of <paramref name="queue"/> at <paramref name="nowMicros"/> (starts only when it has a rate limit).</summary>
    /// <param name="pending">Picks of the same transaction not written yet, counted as running (see <see cref="FlowPending"/>).</param>
    public static async ValueTask<QueueLoad> ReadAsync(IFlowSession session, QueueSettings queue, long nowMicros, CancellationToken cancellationToken,
        FlowPending? pending = null)
    {
        var queries = Queries(session.Dialect, queue, nowMicros);
        return From(queue, await session.QueryManyAsync(queries, cancellationToken).ConfigureAwait(false), pending);
    }

    /// <summary>The statements that read a queue's load: what runs per key, and with a rate limit the starts per key in the window.</summary>
    public static List<(SqlQuery Query, Func<DbDataReader, object> Read)> Queries(ISqlDialect dialect, QueueSettings queue, long nowMicros)
    {
        List<(SqlQuery, Func<DbDataReader, object>)> queries =
        [
            (QueueFlowSql.Running(dialect, queue.Name), r => (Key: r.IsDBNull(0) ? null : r.GetString(0), Count: r.GetInt64(1))),
        ];
        if (queue.RateLimit is { } rate)
        {
            queries.Add((QueueFlowSql.Starts(dialect, queue.Name, WindowStart(rate, nowMicros)), r => (Key: (string?)r.GetString(0), Count: r.GetInt64(1))));
        }

        return queries;
    }

    /// <summary>The load from the results of <see cref="Queries"/> (the first of <paramref name="results"/>, in their order).</summary>
    public static QueueLoad From(QueueSettings queue, IReadOnlyList<List<object>> results, FlowPending? pending)
    {
        var load = new QueueLoad();
        if (pending is not null)
        {
            load.Running += pending.RunningIn(queue.Name);
            foreach (var (key, count) in pending.KeysIn(queue.Name))
            {
                load._runningByKey[key] = count;
            }
        }

        foreach (var (key, count) in results[0].Cast<(string? Key, long Count)>())
        {
            load.Running += (int)count;
            if (key is not null)
            {
                load._runningByKey[key] = load._runningByKey.GetValueOrDefault(key) + (int)count;
            }
        }

        if (queue.RateLimit is not null)
        {
            foreach (var (key, count) in results[1].Cast<(string? Key, long Count)>())
            {
                load.Started += (int)count;
                load._startedByKey[key!] = (int)count;
            }
        }

        return load;
    }

    /// <summary>The window is (now − period, now]: a start at exactly now − period has left it.</summary>
    public static long WindowStart(QueueRateLimit rate, long nowMicros) => nowMicros - rate.PeriodSeconds * 1_000_000L;
}
