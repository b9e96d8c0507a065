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

    public string LockSkippingLocked => " FOR UPDATE SKIP LOCKED";

    public string PartitionKeyOf(string type, string labels, string queue) =>
        $"(SELECT CASE WHEN q.partition_key = 'type' THEN {type} ELSE COALESCE(({labels})::jsonb ->> substr(q.partition_key, 7), '') END " +
        $"FROM queues q WHERE q.name = {queue} AND q.partition_key IS NOT NULL)";
}
