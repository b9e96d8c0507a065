using System.Text;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Sqlite;

/// <summary>
/// Builds the listing SQL. The text depends only on which filters are present (values are always
/// parameters), so each shape is prepared once per connection. A label filter drives the query from
/// the label index; otherwise the status or type index is walked newest first.
/// </summary>
internal static class SqliteListQuery
{
    public static (string Sql, List<KeyValuePair<string, object>> Parameters) Build(JobQuery query, JobStatus? singleStatus, int take)
    {
        var sql = new StringBuilder(512);
        var parameters = new List<KeyValuePair<string, object>>();
        var where = new List<string>();
        string order;
        sql.Append("SELECT ").Append(SqliteJobColumns.SelectList);

        if (query.Labels.Count > 0)
        {
            // Walk the first label's index entries in created order and join the jobs they name.
            sql.Append(" FROM job_labels l JOIN jobs j ON j.id = l.job_id");
            where.Add("l.key = $lk0 AND l.value = $lv0");
            parameters.Add(new("$lk0", query.Labels[0].Key));
            parameters.Add(new("$lv0", query.Labels[0].Value));
            for (var i = 1; i < query.Labels.Count; i++)
            {
                where.Add($"EXISTS (SELECT 1 FROM job_labels x WHERE x.job_id = j.id AND x.key = $lk{i} AND x.value = $lv{i})");
                parameters.Add(new($"$lk{i}", query.Labels[i].Key));
                parameters.Add(new($"$lv{i}", query.Labels[i].Value));
            }

            AddRange(where, parameters, query, "l.created_us", "l.job_id");
            order = " ORDER BY l.created_us DESC, l.job_id DESC";
        }
        else
        {
            sql.Append(" FROM jobs j");
            AddRange(where, parameters, query, "j.created_us", "j.id");
            order = " ORDER BY j.created_us DESC, j.id DESC";
        }

        if (singleStatus is { } status)
        {
            where.Add("j.status = $status");
            parameters.Add(new("$status", status.ToName()));
        }
        else if (query.Statuses.Count > 0)
        {
            var names = new List<string>();
            for (var i = 0; i < query.Statuses.Count; i++)
            {
                names.Add($"$s{i}");
                parameters.Add(new($"$s{i}", query.Statuses[i].ToName()));
            }

            where.Add($"j.status IN ({string.Join(", ", names)})");
        }

        if (query.Type is not null)
        {
            where.Add("j.type = $type");
            parameters.Add(new("$type", query.Type));
        }

        if (where.Count > 0)
        {
            sql.Append(" WHERE ").Append(string.Join(" AND ", where));
        }

        sql.Append(order).Append(" LIMIT $take");
        parameters.Add(new("$take", take));
        return (sql.ToString(), parameters);
    }

    private static void AddRange(List<string> where, List<KeyValuePair<string, object>> parameters, JobQuery query, string createdColumn, string idColumn)
    {
        if (query.CreatedAfter is { } after)
        {
            where.Add($"{createdColumn} >= $created_after");
            parameters.Add(new("$created_after", TimeMicros.From(after)));
        }

        if (query.CreatedBefore is { } before)
        {
            where.Add($"{createdColumn} < $created_before");
            parameters.Add(new("$created_before", TimeMicros.From(before)));
        }

        if (query.After is { } cursor)
        {
            where.Add($"({createdColumn}, {idColumn}) < ($cursor_created, $cursor_id)");
            parameters.Add(new("$cursor_created", cursor.CreatedAtMicros));
            parameters.Add(new("$cursor_id", cursor.Id));
        }
    }
}
