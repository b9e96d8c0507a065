using System.Data.Common;

namespace Jobkeeper.Relational.Queues;

/// <summary>Where flow control runs its statements: the claim's own transaction (or, to read, any connection of the store).</summary>
internal interface IFlowSession
{
    ISqlDialect Dialect { get; }

    ValueTask<List<T>> QueryAsync<T>(SqlQuery query, Func<DbDataReader, T> read, CancellationToken cancellationToken);

    ValueTask ExecuteAsync(SqlQuery query, CancellationToken cancellationToken);

    /// <summary>Runs several writes in one round trip where the store can (PostgreSQL).</summary>
    ValueTask ExecuteManyAsync(IReadOnlyList<SqlQuery> queries, CancellationToken cancellationToken);

    /// <summary>Runs several selects in one round trip where the store can (PostgreSQL), each read by its own reader.</summary>
    ValueTask<List<List<object>>> QueryManyAsync(IReadOnlyList<(SqlQuery Query, Func<DbDataReader, object> Read)> queries, CancellationToken cancellationToken);
}

/// <summary>A read-only <see cref="IFlowSession"/> over a store's readers: what <c>blocked_by</c> is worked out with.</summary>
internal sealed class ReadingFlowSession(ISqlDialect dialect, ISqlReader reader) : IFlowSession
{
    public ISqlDialect Dialect => dialect;

    public async ValueTask<List<T>> QueryAsync<T>(SqlQuery query, Func<DbDataReader, T> read, CancellationToken cancellationToken) =>
        await reader.QueryAsync(query, read, cancellationToken).ConfigureAwait(false);

    public ValueTask ExecuteAsync(SqlQuery query, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("A reading session does not write.");

    public ValueTask ExecuteManyAsync(IReadOnlyList<SqlQuery> queries, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("A reading session does not write.");

    public async ValueTask<List<List<object>>> QueryManyAsync(IReadOnlyList<(SqlQuery Query, Func<DbDataReader, object> Read)> queries,
        CancellationToken cancellationToken)
    {
        var results = new List<List<object>>(queries.Count);
        foreach (var (query, read) in queries)
        {
            results.Add(await reader.QueryAsync(query, read, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }
}
