using Jobkeeper.Relational;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// The job rows of one transaction, written with one multi-row statement per kind instead of one statement per
/// job: every insert in one <c>INSERT … SELECT FROM unnest(…)</c>, every compare-and-set update in one
/// <c>UPDATE … FROM unnest(…)</c> (a job changed twice in one batch goes into a second statement, run after the
/// first, so each change sees the one before). Each statement returns the ids it wrote; that says which op won.
/// </summary>
internal sealed class PostgresRowWrites
{
    // PostgreSQL type of each column of JobColumns.Inserted / JobColumns.State, by name.
    private static readonly Dictionary<string, string> ColumnTypes = new(StringComparer.Ordinal)
    {
        ["id"] = "text", ["type"] = "text", ["priority"] = "integer", ["input"] = "text", ["created_us"] = "bigint",
        ["labels"] = "text", ["status"] = "text", ["progress"] = "text", ["result"] = "text", ["error"] = "text",
        ["attempt"] = "integer", ["max_attempts"] = "integer", ["updated_us"] = "bigint", ["started_us"] = "bigint",
        ["completed_us"] = "bigint", ["run_at_us"] = "bigint", ["lease_owner"] = "text", ["lease_expires_us"] = "bigint",
        ["lease_token"] = "text", ["cancel_requested_us"] = "bigint", ["version"] = "bigint", ["prompts"] = "text",
        ["checkpoint"] = "text", ["prompt_expires_us"] = "bigint", ["lease_us"] = "bigint",
        ["traceparent"] = "text", ["queue"] = "text", ["unique_key"] = "text",
    };

    private static readonly string InsertSql = BuildInsert();
    private static readonly string UpdateSql = BuildUpdate();

    private readonly List<object[]> _inserts = [];
    private readonly List<PendingUpdate> _updates = [];

    private readonly List<int> _updateRound = [];
    private readonly HashSet<string> _insertedIds = new(StringComparer.Ordinal);
    private readonly List<HashSet<string>> _updatedIds = [];
    private int _rounds;

    public void Clear()
    {
        _inserts.Clear();
        _updates.Clear();
        _updateRound.Clear();
        _insertedIds.Clear();
        _updatedIds.Clear();
        _rounds = 0;
    }

    /// <summary>Adds an insert (values as <see cref="JobColumns.ToInsertValues"/>); returns its handle.</summary>
    public int Insert(object[] values)
    {
        _inserts.Add(values);
        return _inserts.Count - 1;
    }

    /// <summary>
    /// Adds a compare-and-set update (values as <see cref="JobColumns.ToStateValues"/> without labels); returns its handle. The
    /// input, otherwise written once, is replaced too when <paramref name="input"/> is given (a debounce), in the same statement.
    /// </summary>
    public int Update(string id, long expectedVersion, object? labels, object[] state, object? input = null)
    {
        _updates.Add(new PendingUpdate(id, expectedVersion, labels, state, input));
        return _updates.Count - 1;
    }

    public bool Inserted(int handle) => _insertedIds.Remove((string)_inserts[handle][0]);

    public bool Updated(int handle) => _updatedIds[_updateRound[handle]].Contains(_updates[handle].Id);

    public void AddCommands(NpgsqlBatch batch)
    {
        if (_inserts.Count > 0)
        {
            batch.BatchCommands.Add(Columns(InsertSql, JobColumns.Inserted, _inserts));
        }

        // Rounds: an id repeats only in a later round, so each UPDATE touches a row at most once.
        var seen = new List<HashSet<string>>();
        var rows = new List<List<object[]>>();
        foreach (var update in _updates)
        {
            var round = 0;
            while (round < seen.Count && seen[round].Contains(update.Id))
            {
                round++;
            }

            if (round == seen.Count)
            {
                seen.Add(new HashSet<string>(StringComparer.Ordinal));
                rows.Add([]);
            }

            seen[round].Add(update.Id);
            _updateRound.Add(round);
            rows[round].Add([update.Id, update.ExpectedVersion, update.Labels is not null, update.Labels ?? DBNull.Value, update.Input is not null,
                update.Input ?? DBNull.Value, .. update.State]);
        }

        _rounds = rows.Count;
        foreach (var round in rows)
        {
            batch.BatchCommands.Add(Columns(UpdateSql, UpdateColumns, round));
        }
    }

    /// <summary>Reads the ids each statement returned, in statement order.</summary>
    public async Task ReadResultsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var first = true;
        if (_inserts.Count > 0)
        {
            await ReadIdsAsync(reader, _insertedIds, first, cancellationToken).ConfigureAwait(false);
            first = false;
        }

        for (var i = 0; i < _rounds; i++)
        {
            var ids = new HashSet<string>(StringComparer.Ordinal);
            await ReadIdsAsync(reader, ids, first, cancellationToken).ConfigureAwait(false);
            first = false;
            _updatedIds.Add(ids);
        }
    }

    public bool HasCommands => _inserts.Count > 0 || _updates.Count > 0;

    public bool HasInserts => _inserts.Count > 0;

    private static async Task ReadIdsAsync(NpgsqlDataReader reader, HashSet<string> into, bool first, CancellationToken cancellationToken)
    {
        if (!first && !await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("A row write returned no result.");
        }

        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            into.Add(reader.GetString(0));
        }
    }

    private static readonly IReadOnlyList<string> UpdateColumns = ["id", "expected", "labels_changed", "labels", "input_changed", "input", .. JobColumns.State];

    /// <summary>A statement whose parameters are the rows' columns as arrays, one array per column.</summary>
    private static NpgsqlBatchCommand Columns(string sql, IReadOnlyList<string> columns, List<object[]> rows)
    {
        var command = new NpgsqlBatchCommand(sql);
        for (var c = 0; c < columns.Count; c++)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = Column(columns[c], rows, c) });
        }

        return command;
    }

    private static Array Column(string name, List<object[]> rows, int c)
    {
        switch (name)
        {
            case "expected":
                return rows.Select(r => (long)r[c]).ToArray();
            case "labels_changed" or "input_changed":
                return rows.Select(r => (bool)r[c]).ToArray();
        }

        return ColumnTypes[name] switch
        {
            "bigint" => rows.Select(r => r[c] is DBNull ? (long?)null : Convert.ToInt64(r[c], System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            "integer" => rows.Select(r => r[c] is DBNull ? (int?)null : Convert.ToInt32(r[c], System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            _ => rows.Select(r => r[c] as string).ToArray(),
        };
    }

    private static string BuildInsert()
    {
        var columns = JobColumns.Inserted;
        var arrays = string.Join(", ", columns.Select((c, i) => $"${i + 1}::{ColumnTypes[c]}[]"));
        var names = string.Join(", ", columns);
        return $"INSERT INTO jobs ({names}, partition_key) SELECT u.*, {PostgresDialect.Instance.PartitionKeyOf("u.type", "u.labels", "u.queue")} " +
            $"FROM unnest({arrays}) AS u({names}) ON CONFLICT (id) DO NOTHING RETURNING id";
    }

    private static string BuildUpdate()
    {
        var state = JobColumns.State;
        var arrays = string.Join(", ", new[] { "$1::text[]", "$2::bigint[]", "$3::boolean[]", "$4::text[]", "$5::boolean[]", "$6::text[]" }
            .Concat(state.Select((c, i) => $"${i + 7}::{ColumnTypes[c]}[]")));
        var names = string.Join(", ", new[] { "id", "expected", "labels_changed", "labels", "input_changed", "input" }.Concat(state));
        var assignments = string.Join(", ", state.Select(c => $"{c} = u.{c}"));
        return $"UPDATE jobs AS j SET labels = CASE WHEN u.labels_changed THEN u.labels ELSE j.labels END, " +
            $"input = CASE WHEN u.input_changed THEN u.input ELSE j.input END, {assignments} " +
            $"FROM unnest({arrays}) AS u({names}) WHERE j.id = u.id AND j.version = u.expected RETURNING j.id";
    }

    private sealed record PendingUpdate(string Id, long ExpectedVersion, object? Labels, object[] State, object? Input);
}
