using System.Data.Common;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Postgres;
using Npgsql;

namespace Jobkeeper;

/// <summary>
/// Creating jobs in the application's own PostgreSQL transaction: "insert the order and enqueue its job" commit or roll back
/// together, with no outbox. The store must be the PostgreSQL store on the same database.
/// </summary>
public static class JobManagerTransactionExtensions
{
    /// <summary>
    /// Creates a job in <paramref name="transaction"/> (open, on the application's connection to the store's database). The
    /// job exists if and only if the transaction commits; then every instance sees it and its workers wake at once, and no
    /// cache or live stream ever shows it before (or after a rollback). Returns the job as it is once created; until its
    /// creation is recorded (milliseconds after the commit) it reads at version 0, not yet due. Unique keys and debounce are
    /// not supported here (400). With EF Core: <c>db.Database.CurrentTransaction!.GetDbTransaction()</c>.
    /// </summary>
    public static async Task<Job> CreateAsync(this JobManager manager, DbTransaction transaction, NewJob request, JobActor? actor = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(transaction);
        if (transaction is not NpgsqlTransaction npgsql)
        {
            throw new ArgumentException($"A job can be created in a PostgreSQL transaction (NpgsqlTransaction) only, not a {transaction.GetType().Name}.",
                nameof(transaction));
        }

        if (manager.Store is not PostgresJobStore store)
        {
            throw new InvalidOperationException("Creating a job in the application's transaction needs the PostgreSQL store (UsePostgres).");
        }

        var insert = manager.PrepareEnlisted(request, actor);
        if (!await store.EnlistAsync(npgsql, insert, cancellationToken).ConfigureAwait(false))
        {
            throw new DuplicateJobException(insert.Job.Id);
        }

        return insert.Job;
    }
}
