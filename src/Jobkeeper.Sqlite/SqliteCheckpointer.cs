using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Sqlite;

/// <summary>
/// Copies the WAL back into the database file on its own connection, so the writer never stops to do
/// it: left to SQLite's automatic checkpoint, every thousandth commit would copy and fsync on the
/// writer while all other writes wait. The writer keeps a high automatic threshold only as a
/// backstop, which also lets the WAL file start over once everything in it has been copied.
/// </summary>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    /// <summary>Write operations committed between two background checkpoints.</summary>
    public const int OperationsPerCheckpoint = 512;

    private static readonly TimeSpan IdleInterval = TimeSpan.FromSeconds(1);

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _passive;
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly Task _loop;
    private int _pending;

    public SqliteCheckpointer(SqliteConnection connection, ILogger logger)
    {
        _connection = connection;
        _passive = SqliteConnections.Prepare(connection, "PRAGMA wal_checkpoint(PASSIVE)");
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Called by the writer after a commit; cheap, and never blocks it.</summary>
    public void Committed(int operations)
    {
        if (Interlocked.Add(ref _pending, operations) >= OperationsPerCheckpoint && _signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(IdleInterval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (Interlocked.Exchange(ref _pending, 0) == 0)
            {
                continue;
            }

            try
            {
                _passive.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                _logger.LogWarning(ex, "Background WAL checkpoint failed; the writer's automatic checkpoint remains as a backstop");
            }
        }
    }

    /// <summary>Stops, then copies everything left and truncates the WAL (call after the writer drained).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        try
        {
            using var truncate = SqliteConnections.Prepare(_connection, "PRAGMA wal_checkpoint(TRUNCATE)");
            truncate.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            _logger.LogWarning(ex, "Final WAL checkpoint failed; SQLite replays the WAL at the next start");
        }

        _passive.Dispose();
        _connection.Dispose();
        _signal.Dispose();
        _stop.Dispose();
    }
}
