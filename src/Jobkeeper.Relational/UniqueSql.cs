using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational;

/// <summary>
/// The unique-key check both stores run in the writer's transaction, right before the insert it guards: the newest job with
/// the key that blocks a new one (<see cref="JobUniqueness.Blocks"/> in SQL), found along ix_jobs_unique.
/// </summary>
internal static class UniqueSql
{
    private static readonly string SelectList = JobColumns.SelectList("j");

    /// <summary>The blocking job, if any.</summary>
    public static SqlQuery Blocking(ISqlDialect dialect, JobUniqueness unique)
    {
        var p = new SqlParameters(dialect);
        var key = p.Add("key", unique.Key);
        // Status names are fixed words from the enum, never input.
        var statuses = string.Join(", ", unique.Statuses.Distinct().Order().Select(StatusSql.Of));
        var since = unique.CreatedSince is { } s ? $" AND j.created_us >= {p.Add("since", TimeMicros.From(s))}" : "";
        return new($"SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_unique")} WHERE j.unique_key = {key} " +
            $"AND j.status IN ({statuses}){since} ORDER BY j.created_us DESC, j.id DESC LIMIT 1", p.Values);
    }
}

/// <summary>The input of a job replaced after its compare-and-set update (a debounce): the one change that rewrites it.</summary>
internal static class InputSql
{
    public static SqlQuery Set(ISqlDialect dialect, string id, object input)
    {
        var p = new SqlParameters(dialect);
        return new($"UPDATE jobs SET input = {p.Add("input", input)} WHERE id = {p.Add("id", id)}", p.Values);
    }
}
