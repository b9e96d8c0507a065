using Jobkeeper.Relational;

namespace Jobkeeper.Sqlite;

/// <summary>SQLite's spelling of the shared queries: <c>$name</c> parameters, one per listed value, and forced indexes.</summary>
internal sealed class SqliteDialect : ISqlDialect
{
    public static SqliteDialect Instance { get; } = new();

    public string Placeholder(string name, int position) => "$" + name;

    public string AnyOf(SqlParameters parameters, string column, string name, IReadOnlyList<string> values) =>
        $"{column} IN ({string.Join(", ", values.Select((value, i) => parameters.Add($"{name}{i}", value)))})";

    /// <summary>The maintenance and claim queries walk the partial index of their status, which holds only the rows they look for.</summary>
    public string IndexedBy(string index) => " INDEXED BY " + index;

    public bool ListsStatusesApart => true;

    // One writer: a claim's rows cannot be taken by anyone else before it commits.
    public string LockSkippingLocked => "";

    /// <summary>One probe per key joined with UNION ALL (the statement is cached per number of keys).</summary>
    public string HeadsOfKeys(SqlParameters parameters, string queue, string now, string filters, IReadOnlyList<string> keys, IReadOnlyList<int> offsets) =>
        string.Join(" UNION ALL ", keys.Select((key, i) =>
        {
            var k = parameters.Add($"k{i}", key);
            return $"SELECT * FROM (SELECT h.*, {k} AS key FROM ({Relational.Queues.QueueFlowSql.HeadOf(this, queue, now, filters, k, parameters.Add($"o{i}", offsets[i]))}) h)";
        }));

    /// <summary>FTS5 over the jobs' text (rowid = the job's rowid); each word quoted, so the match is of those words, all of them.</summary>
    public string HasWords(SqlParameters parameters, IReadOnlyList<string> words) =>
        $"j.rowid IN (SELECT rowid FROM jobs_search WHERE jobs_search MATCH {parameters.Add("words", string.Join(" ", words.Select(w => "\"" + w + "\"")))})";

    public string PartitionKeyOf(string type, string labels, string queue) =>
        $"(SELECT CASE WHEN q.partition_key = 'type' THEN {type} ELSE COALESCE((SELECT l.value FROM json_each({labels}) l " +
        $"WHERE l.key = substr(q.partition_key, 7)), '') END FROM queues q WHERE q.name = {queue} AND q.partition_key IS NOT NULL)";
}
