using System.Data.Common;
using Jobkeeper.Relational;
using Jobkeeper.Relational.Queues;

namespace Jobkeeper.Sqlite;

/// <summary>Flow control's statements on the write connection, inside the writer's transaction: synchronous, so every task it returns is done.</summary>
internal sealed class SqliteFlowSession(SqliteWriteSession session) : IFlowSession
{
    public ISqlDialect Dialect => SqliteDialect.Instance;

    public ValueTask<List<T>> QueryAsync<T>(SqlQuery query, Func<DbDataReader, T> read, CancellationToken cancellationToken) =>
        ValueTask.FromResult(session.Query(query, read));

    public ValueTask ExecuteAsync(SqlQuery query, CancellationToken cancellationToken)
    {
        session.Execute(query);
        return ValueTask.CompletedTask;
    }

    public ValueTask ExecuteManyAsync(IReadOnlyList<SqlQuery> queries, CancellationToken cancellationToken)
    {
        foreach (var query in queries)
        {
            session.Execute(query);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<List<List<object>>> QueryManyAsync(IReadOnlyList<(SqlQuery Query, Func<DbDataReader, object> Read)> queries,
        CancellationToken cancellationToken) =>
        ValueTask.FromResult(queries.Select(q => session.Query(q.Query, q.Read)).ToList());

    /// <summary>The result of a flow step run on this session: it ran synchronously, on the writer.</summary>
    public static T Done<T>(ValueTask<T> task) =>
        task.IsCompletedSuccessfully ? task.Result : throw new InvalidOperationException("A flow step on the SQLite writer did not complete synchronously.");
}
