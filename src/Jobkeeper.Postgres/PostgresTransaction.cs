using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// The writer's transaction in progress: BEGIN rides on its first round trip instead of costing one of its own, and
/// each round trip before COMMIT also returns the transaction's id, so that its outcome can be asked for if the
/// connection breaks while it commits.
/// </summary>
internal sealed class PostgresTransaction(NpgsqlConnection connection)
{
    private bool _begun;

    public HashSet<string> ClaimedIds { get; } = new(StringComparer.Ordinal);

    private readonly Dictionary<string, List<UniqueWrite>> _uniqueWrites = new(StringComparer.Ordinal);

    /// <summary>The jobs with <paramref name="key"/> that ops of this transaction write, in op order (added to by the caller).</summary>
    public List<UniqueWrite> UniqueWrites(string key)
    {
        if (!_uniqueWrites.TryGetValue(key, out var writes))
        {
            _uniqueWrites[key] = writes = [];
        }

        return writes;
    }

    /// <summary>Forgets what an earlier attempt of the selects decided (they run again).</summary>
    public void ClearUniqueWrites() => _uniqueWrites.Clear();

    /// <summary>What the transaction's claims picked under flow control, not written yet: the next claim counts it as running.</summary>
    public Relational.Queues.FlowPending FlowPending { get; } = new();

    /// <summary>The transaction's id, once it wrote something; null while it has written nothing (then it has nothing to lose).</summary>
    public ulong? Id { get; private set; }

    /// <summary>True from the moment the round trip with COMMIT is sent: from then on, a broken connection leaves the outcome unknown.</summary>
    public bool CommitSent { get; private set; }

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

    /// <summary>Adds the query of the transaction's id; it must be the batch's last statement (see <see cref="ReadIdAsync"/>).</summary>
    public static void AddIdQuery(NpgsqlBatch batch) => batch.BatchCommands.Add(new NpgsqlBatchCommand(PostgresJobSql.TransactionId));

    /// <summary>Reads the id from the batch's last result set; the reader is on the result set before it.</summary>
    public async Task ReadIdAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("The transaction id was asked for and not returned.");
        }

        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !reader.IsDBNull(0))
        {
            Id = reader.GetFieldValue<ulong>(0);
        }
    }

    public void SendingCommit() => CommitSent = true;
}
