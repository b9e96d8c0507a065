using Jobkeeper.Relational;

namespace Jobkeeper.Postgres;

/// <summary>
/// PostgreSQL's spelling of the shared queries: positional <c>$n</c> parameters (Npgsql sends them as they are, without
/// parsing names out of the text), a list as one array parameter, and no index hints (its planner picks the partial indexes).
/// </summary>
internal sealed class PostgresDialect : ISqlDialect
{
    public static PostgresDialect Instance { get; } = new();

    public string Placeholder(string name, int position) => "$" + position.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string AnyOf(SqlParameters parameters, string column, string name, IReadOnlyList<string> values) =>
        $"{column} = ANY({parameters.Add(name, values.ToArray())})";

    public string IndexedBy(string index) => "";

    public bool ListsStatusesApart => false;

    /// <summary>
    /// NO KEY UPDATE, the lock an update of the row takes anyway: it keeps two claims apart but not a claim and a key-share
    /// lock (a foreign key check of a row that references the job, such as the search indexer's), which FOR UPDATE would
    /// make the claim skip the job for.
    /// </summary>
    public string LockSkippingLocked => " FOR NO KEY UPDATE SKIP LOCKED";

    /// <summary>One lateral probe per key, in one statement (the keys and offsets as two arrays: one text for any number of keys).</summary>
    public string HeadsOfKeys(SqlParameters parameters, string queue, string now, string filters, IReadOnlyList<string> keys, IReadOnlyList<int> offsets)
    {
        var keyArray = parameters.Add("keys", keys.ToArray());
        var offsetArray = parameters.Add("offsets", offsets.ToArray());
        return $"SELECT h.*, k.key FROM unnest({keyArray}::text[], {offsetArray}::int[]) WITH ORDINALITY AS k(key, skip, ord) " +
            $"CROSS JOIN LATERAL ({Relational.Queues.QueueFlowSql.HeadOf(this, queue, now, filters, "k.key", "k.skip")}) h ORDER BY k.ord";
    }

    /// <summary>The GIN index of job_search, whose words come from the same text by the same rule (see migration 11).</summary>
    public string HasWords(SqlParameters parameters, IReadOnlyList<string> words) =>
        $"j.id IN (SELECT s.job_id FROM job_search s WHERE s.words @@ to_tsquery('simple', {parameters.Add("words", string.Join(" & ", words))}))";

    public string PartitionKeyOf(string type, string labels, string queue) =>
        $"(SELECT CASE WHEN q.partition_key = 'type' THEN {type} ELSE COALESCE(({labels})::jsonb ->> substr(q.partition_key, 7), '') END " +
        $"FROM queues q WHERE q.name = {queue} AND q.partition_key IS NOT NULL)";
}
