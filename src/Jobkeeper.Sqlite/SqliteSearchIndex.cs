using Jobkeeper.Relational;
using Jobkeeper.Storage;

namespace Jobkeeper.Sqlite;

/// <summary>
/// Moves marked jobs (<c>jobs_search_pending</c>, filled by the triggers of schema 13) into the FTS5 index, the lowest rowids
/// first, in the single writer's transaction.
/// </summary>
internal sealed class IndexSearchOp(int max) : WriteOp<int>
{
    /// <summary>The text a job is found by: what <c>JobSearch</c> documents (type, labels, input, result, error).</summary>
    private const string Body = "j.type || ' ' || coalesce(j.labels, '') || ' ' || coalesce(j.input, '') || ' ' || coalesce(j.result, '') || ' ' || coalesce(j.error, '')";

    private const string Batch = "job_rowid <= (SELECT MAX(job_rowid) FROM (SELECT job_rowid FROM jobs_search_pending ORDER BY job_rowid LIMIT $max))";

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        var limit = new KeyValuePair<string, object>[] { new("$max", max) };
        session.Execute(new SqlQuery($"DELETE FROM jobs_search WHERE rowid IN (SELECT job_rowid FROM jobs_search_pending WHERE {Batch})", limit));
        session.Execute(new SqlQuery($"INSERT INTO jobs_search (rowid, body) SELECT j.rowid, {Body} FROM jobs_search_pending p JOIN jobs j ON j.rowid = p.job_rowid WHERE p.{Batch}", limit));
        Result = session.Execute(new SqlQuery($"DELETE FROM jobs_search_pending WHERE {Batch}", limit));
    }
}
