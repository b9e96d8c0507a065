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
    /// <summary>
    /// Shortest time between two background checkpoints. A transaction's size says little about the pages
    /// it wrote (a cleanup batch rewrites hundreds), so checkpoints follow time, not operation counts:
    /// while anything is being committed, the WAL is copied back every 20 ms.
    /// </summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _passive;
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly SqliteFaults _faults;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private int _dirty;

    public SqliteCheckpointer(SqliteConnection connection, SqliteFaults faults, ILogger logger)
    {
        _connection = connection;
        _faults = faults;
        _passive = SqliteConnections.Prepare(connection, "PRAGMA wal_checkpoint(PASSIVE)");
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Called by the writer after a commit; cheap, and never blocks it.</summary>
    public void Committed()
    {
        // Only the first commit after a checkpoint signals; the loop clears the flag after taking the
        // signal, so the semaphore never holds more than one.
        if (Interlocked.Exchange(ref _dirty, 1) == 0)
        {
            _signal.Release();
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(_stop.Token).ConfigureAwait(false);
                // Let commits accumulate for one interval, so one checkpoint copies many of them.
                await Task.Delay(Interval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Volatile.Write(ref _dirty, 0);
            try
            {
                _passive.ExecuteNonQuery();
            }
            catch (SqliteException ex) when (SqliteFaults.IsDamage(ex))
            {
                _faults.Translate(ex, "checkpointing");
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
