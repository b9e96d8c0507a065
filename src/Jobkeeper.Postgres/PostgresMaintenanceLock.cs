using Jobkeeper.Maintenance;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// The maintenance leader's lock: a session advisory lock, <c>pg_try_advisory_lock(19019, 1)</c> ("JK", maintenance),
/// taken on a connection of its own outside the pool, so nothing else ever runs on the session that holds it. Advisory
/// locks belong to one database, so each database elects its own leader. PostgreSQL drops the lock with the session,
/// so a holder that dies (or whose backend is terminated) frees it for the next instance to try.
/// </summary>
internal sealed class PostgresMaintenanceLock(string connectionString) : IMaintenanceLock
{
    /// <summary>The lock's two keys, as <c>pg_locks</c> shows them (classid, objid; objsubid 2 for the two-key form).</summary>
    internal const int KeyClass = 0x4A4B;
    internal const int KeyObject = 1;

    private static readonly string TryLock = $"SELECT pg_try_advisory_lock({KeyClass}, {KeyObject})";
    private static readonly string Held = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() " +
        $"AND classid = {KeyClass} AND objid = {KeyObject} AND objsubid = 2 AND granted)";

    private NpgsqlConnection? _connection;

    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            var connection = new NpgsqlConnection(connectionString);
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            _connection = connection;
        }

        return await ScalarAsync(TryLock, cancellationToken).ConfigureAwait(false);
    }

    public Task<bool> IsHeldAsync(CancellationToken cancellationToken) =>
        _connection is null ? Task.FromResult(false) : ScalarAsync(Held, cancellationToken);

    /// <summary>Closes the session: PostgreSQL releases a session lock with it, and a broken connection is replaced on the next try.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => new(ReleaseAsync(CancellationToken.None));

    private async Task<bool> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = new NpgsqlCommand(sql, _connection);
            return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        catch
        {
            // The session may be gone (and its lock with it): start again from a new connection next time.
            await ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}
