using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>The writer's transaction in progress: BEGIN rides on its first round trip instead of costing one of its own.</summary>
internal sealed class PostgresTransaction(NpgsqlConnection connection)
{
    private bool _begun;

    public HashSet<string> ClaimedIds { get; } = new(StringComparer.Ordinal);

    /// <summary>The batch that would have begun the transaction was not sent: the next one begins it.</summary>
    public void Unbegin() => _begun = false;

    public NpgsqlBatch NewBatch()
    {
        var batch = new NpgsqlBatch(connection);
        if (!_begun)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            _begun = true;
        }

        return batch;
    }
}
