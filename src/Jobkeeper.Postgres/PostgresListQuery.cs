using System.Text;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// Builds the listing SQL; values are always parameters. A label filter drives the query from the label index;
/// otherwise the created, status or type index is walked newest first with a keyset cursor, so a page costs the
/// same on the first page and the ten-thousandth, however many jobs the table holds.
/// </summary>
internal static class PostgresListQuery
{
    public static NpgsqlCommand Build(JobQuery query, JobStatus? singleStatus, int take)
    {
        var command = new NpgsqlCommand();
        var sql = new StringBuilder(512);
        var where = new List<string>();
        string order;
        sql.Append("SELECT ").Append(PostgresJobSql.SelectList);

        if (query.Labels.Count > 0)
        {
            sql.Append(" FROM job_labels l JOIN jobs j ON j.id = l.job_id");
            where.Add("l.key = @lk0 AND l.value = @lv0");
            command.Parameters.AddWithValue("lk0", query.Labels[0].Key);
            command.Parameters.AddWithValue("lv0", query.Labels[0].Value);
            for (var i = 1; i < query.Labels.Count; i++)
            {
                where.Add($"EXISTS (SELECT 1 FROM job_labels x WHERE x.job_id = j.id AND x.key = @lk{i} AND x.value = @lv{i})");
                command.Parameters.AddWithValue($"lk{i}", query.Labels[i].Key);
                command.Parameters.AddWithValue($"lv{i}", query.Labels[i].Value);
            }

            AddRange(where, command, query, "l.created_us", "l.job_id");
            order = " ORDER BY l.created_us DESC, l.job_id DESC";
        }
        else
        {
            sql.Append(" FROM jobs j");
            AddRange(where, command, query, "j.created_us", "j.id");
            order = " ORDER BY j.created_us DESC, j.id DESC";
        }

        if (singleStatus is { } status)
        {
            where.Add("j.status = @status");
            command.Parameters.AddWithValue("status", status.ToName());
        }
        else if (query.Statuses.Count > 0)
        {
            where.Add("j.status = ANY(@statuses)");
            command.Parameters.AddWithValue("statuses", query.Statuses.Select(s => s.ToName()).ToArray());
        }

        if (query.Type is not null)
        {
            where.Add("j.type = @type");
            command.Parameters.AddWithValue("type", query.Type);
        }

        if (where.Count > 0)
        {
            sql.Append(" WHERE ").Append(string.Join(" AND ", where));
        }

        sql.Append(order).Append(" LIMIT @take");
        command.Parameters.AddWithValue("take", take);
        command.CommandText = sql.ToString();
        return command;
    }

    private static void AddRange(List<string> where, NpgsqlCommand command, JobQuery query, string createdColumn, string idColumn)
    {
        if (query.CreatedAfter is { } after)
        {
            where.Add($"{createdColumn} >= @created_after");
            command.Parameters.AddWithValue("created_after", TimeMicros.From(after));
        }

        if (query.CreatedBefore is { } before)
        {
            where.Add($"{createdColumn} < @created_before");
            command.Parameters.AddWithValue("created_before", TimeMicros.From(before));
        }

        if (query.After is { } cursor)
        {
            where.Add($"({createdColumn}, {idColumn}) < (@cursor_created, @cursor_id)");
            command.Parameters.AddWithValue("cursor_created", cursor.CreatedAtMicros);
            command.Parameters.AddWithValue("cursor_id", cursor.Id);
        }
    }
}
