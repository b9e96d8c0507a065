using System.Text;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational;

/// <summary>
/// The listing: newest first (created_at, then id, descending), or in another order (<see cref="JobOrder"/>), from after a
/// keyset cursor, so a page costs the same on the first page and the ten-thousandth. The text depends only on which filters are present (values are always
/// parameters), so each shape is prepared once. A label filter drives the query from the label index; otherwise the
/// created, status or type index is walked newest first.
/// </summary>
internal static class JobListQuery
{
    private static readonly string SelectList = JobColumns.SelectList("j");

    public static async Task<JobPage> ListAsync(ISqlDialect dialect, ISqlReader reader, JobQuery query, CancellationToken cancellationToken)
    {
        var take = query.Limit + 1;
        List<Job> rows;
        if (dialect.ListsStatusesApart && query.Statuses.Count > 1 && query.Labels.Count == 0 && query.Order == JobOrder.Default)
        {
            // One index walk per status, merged: each walk stops after `take` rows instead of sorting all matches.
            rows = [];
            foreach (var status in query.Statuses.Distinct())
            {
                rows.AddRange(await reader.QueryAsync(Build(dialect, query, status, take), JobColumns.Read, cancellationToken).ConfigureAwait(false));
            }

            rows.Sort(NewestFirst);
            if (rows.Count > take)
            {
                rows.RemoveRange(take, rows.Count - take);
            }
        }
        else
        {
            rows = await reader.QueryAsync(Build(dialect, query, null, take), JobColumns.Read, cancellationToken).ConfigureAwait(false);
        }

        JobCursor? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(rows.Count - 1);
            next = JobCursor.After(rows[^1], query.Order);
        }

        return new JobPage(rows, next);
    }

    /// <summary>The query of one page of <paramref name="take"/> rows; of <paramref name="singleStatus"/> only, when given, instead of the query's statuses.</summary>
    public static SqlQuery Build(ISqlDialect dialect, JobQuery query, JobStatus? singleStatus, int take)
    {
        var parameters = new SqlParameters(dialect);
        var sql = new StringBuilder(512);
        var where = new List<string>();
        string order;
        sql.Append("SELECT ").Append(SelectList);

        if (query.Labels.Count > 0)
        {
            // Walk the first label's index entries in created order and join the jobs they name.
            sql.Append(" FROM job_labels l JOIN jobs j ON j.id = l.job_id");
            where.Add($"l.key = {parameters.Add("lk0", query.Labels[0].Key)} AND l.value = {parameters.Add("lv0", query.Labels[0].Value)}");
            for (var i = 1; i < query.Labels.Count; i++)
            {
                where.Add($"EXISTS (SELECT 1 FROM job_labels x WHERE x.job_id = j.id AND x.key = {parameters.Add($"lk{i}", query.Labels[i].Key)} " +
                    $"AND x.value = {parameters.Add($"lv{i}", query.Labels[i].Value)})");
            }

            // Newest first, the label index's own order; another order sorts the matches by the jobs' column.
            var (key, id) = query.Order == JobOrder.Default ? ("l.created_us", "l.job_id") : (KeyOf(query.Order), "j.id");
            AddRange(where, parameters, query, "l.created_us", key, id);
            order = OrderBy(query.Order, key, id);
        }
        else
        {
            sql.Append(" FROM jobs j");
            var key = KeyOf(query.Order);
            AddRange(where, parameters, query, "j.created_us", key, "j.id");
            order = OrderBy(query.Order, key, "j.id");
        }

        if (singleStatus is { } status)
        {
            where.Add($"j.status = {parameters.Add("status", status.ToName())}");
        }
        else if (query.Statuses.Count > 0)
        {
            where.Add(dialect.AnyOf(parameters, "j.status", "s", [.. query.Statuses.Select(s => s.ToName())]));
        }

        if (query.Type is not null)
        {
            where.Add($"j.type = {parameters.Add("type", query.Type)}");
        }

        if (query.Queue is not null)
        {
            where.Add($"j.queue = {parameters.Add("queue", query.Queue)}");
        }

        if (query.Search is { } search)
        {
            // An id that starts with the text (a range of the primary key: no LIKE, so no pattern characters), or the words.
            // Ids are ASCII, so the byte after the prefix's last one bounds the range: '~' (0x7E) is above every id character.
            var conditions = new List<string>();
            if (search.IdPrefix is { } prefix)
            {
                conditions.Add($"(j.id >= {parameters.Add("q", prefix)} AND j.id < {parameters.Add("q_end", prefix + "~")})");
            }

            if (search.Words.Count > 0)
            {
                conditions.Add(dialect.HasWords(parameters, search.Words));
            }

            where.Add(conditions.Count == 0 ? "1 = 0" : $"({string.Join(" OR ", conditions)})");
        }

        if (where.Count > 0)
        {
            sql.Append(" WHERE ").Append(string.Join(" AND ", where));
        }

        sql.Append(order).Append(" LIMIT ").Append(parameters.Add("take", take));
        return new SqlQuery(sql.ToString(), parameters.Values);
    }

    /// <summary>
    /// The value a listing sorts by, as SQL over the job <c>j</c> (<see cref="JobOrder.KeyOf"/> says the same for a job read).
    /// Only created_at has an index of its own for this; the other orders sort the rows the filters leave.
    /// </summary>
    private static string KeyOf(JobOrder order) => order.Field switch
    {
        JobSortField.Updated => "j.updated_us",
        JobSortField.Priority => "j.priority",
        JobSortField.Duration => "COALESCE(j.completed_us - j.started_us, -1)",
        _ => "j.created_us",
    };

    private static string OrderBy(JobOrder order, string key, string id)
    {
        var direction = order.Descending ? "DESC" : "ASC";
        return $" ORDER BY {key} {direction}, {id} {direction}";
    }

    private static void AddRange(List<string> where, SqlParameters parameters, JobQuery query, string createdColumn, string keyColumn, string idColumn)
    {
        if (query.CreatedAfter is { } after)
        {
            where.Add($"{createdColumn} >= {parameters.Add("created_after", TimeMicros.From(after))}");
        }

        if (query.CreatedBefore is { } before)
        {
            where.Add($"{createdColumn} < {parameters.Add("created_before", TimeMicros.From(before))}");
        }

        if (query.After is { } cursor)
        {
            var beyond = query.Order.Descending ? "<" : ">";
            where.Add($"({keyColumn}, {idColumn}) {beyond} ({parameters.Add("cursor_key", cursor.CreatedAtMicros)}, {parameters.Add("cursor_id", cursor.Id)})");
        }
    }

    private static int NewestFirst(Job a, Job b)
    {
        var byTime = b.CreatedAt.CompareTo(a.CreatedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(b.Id, a.Id);
    }
}
