using System.Collections.Concurrent;
using System.Data.Common;
using Jobkeeper.Relational;

namespace Jobkeeper.Sqlite;

/// <summary>
/// A fixed number of read connections (WAL lets them read while the writer writes). Connections are
/// opened on first need and kept; a caller waits only when all of them are busy.
/// </summary>
internal sealed class SqliteReaderPool : ISqlReader, IDisposable
{
    private readonly ConcurrentBag<SqliteReader> _idle = [];
    private readonly SemaphoreSlim _slots;
    private readonly Func<SqliteReader> _open;
    private readonly SqliteFaults _faults;
    private readonly List<SqliteReader> _all = [];
    private readonly Lock _allLock = new();

    public SqliteReaderPool(int size, Func<SqliteReader> open, SqliteFaults faults)
    {
        _slots = new SemaphoreSlim(Math.Max(1, size));
        _open = open;
        _faults = faults;
    }

    public async ValueTask<T> ReadAsync<T>(Func<SqliteReader, T> read, CancellationToken cancellationToken)
    {
        // Completes synchronously (no allocation) while a slot is free.
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);

        SqliteReader? reader = null;
        try
        {
            if (!_idle.TryTake(out reader))
            {
                reader = _open();
                lock (_allLock)
                {
                    _all.Add(reader);
                }
            }

            return read(reader);
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            throw _faults.Translate(ex, "reading");
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Text.Json.JsonException)
        {
            throw _faults.Unreadable(ex, "reading");
        }
        finally
        {
            if (reader is not null)
            {
                _idle.Add(reader);
            }

            _slots.Release();
        }
    }

    public async Task<List<T>> QueryAsync<T>(SqlQuery query, Func<DbDataReader, T> read, CancellationToken cancellationToken) =>
        await ReadAsync(r => r.Query(query, read), cancellationToken).ConfigureAwait(false);

    public void Dispose()
    {
        lock (_allLock)
        {
            foreach (var reader in _all)
            {
                reader.Dispose();
            }

            _all.Clear();
        }

        _slots.Dispose();
    }
}
