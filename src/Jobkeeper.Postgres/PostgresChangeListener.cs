using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// Keeps this instance in step with the others on the same database. It LISTENs for their commit notices:
/// cached copies of the jobs they changed are marked stale and idle workers of the types they queued wake at
/// once; the new states are read only of the jobs an observer needs (those running here, to see a cancel). Live streams get every
/// instance's events from the events table, read in id order after each notice. When the listening connection
/// drops, the cache is cleared, and after reconnecting the events missed meanwhile are read from the table.
/// </summary>
internal sealed class PostgresChangeListener : IAsyncDisposable
{
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(5);
    private const int FeedPage = 1000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreOptions _options;
    private readonly string _instance;
    private readonly IJobStoreObserver[] _observers;
    private readonly IJobFeedObserver[] _feedObservers;
    private readonly Func<long, int, CancellationToken, Task<IReadOnlyList<FeedEvent>>> _readFeed;
    private readonly Func<string[], CancellationToken, Task<IReadOnlyList<Storage.CommittedChange>>> _readJobs;
    private readonly Func<CancellationToken, Task<long>> _readLastEventId;
    private readonly ILogger _logger;
    private readonly Action? _enlisted;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _work = new(0, int.MaxValue);
    private readonly Lock _pendingLock = new();
    private HashSet<string> _pendingIds = new(StringComparer.Ordinal);
    private int _feedPending;
    private long _lastFeedId;
    private Task? _listenLoop;
    private Task? _refreshLoop;

    public PostgresChangeListener(NpgsqlDataSource dataSource, PostgresStoreOptions options, string instance,
        IJobStoreObserver[] observers, Func<long, int, CancellationToken, Task<IReadOnlyList<FeedEvent>>> readFeed,
        Func<string[], CancellationToken, Task<IReadOnlyList<Storage.CommittedChange>>> readJobs,
        Func<CancellationToken, Task<long>> readLastEventId, ILogger logger, Action? enlisted = null)
    {
        _readLastEventId = readLastEventId;
        _dataSource = dataSource;
        _options = options;
        _instance = instance;
        _observers = observers;
        _feedObservers = observers.OfType<IJobFeedObserver>().ToArray();
        _readFeed = readFeed;
        _readJobs = readJobs;
        _logger = logger;
        _enlisted = enlisted;
    }

    /// <summary>True while notices arrive; false between a dropped connection and its replacement.</summary>
    public bool IsListening { get; private set; }

    /// <summary>Starts listening; live streams begin after the events already committed.</summary>
    public async Task StartAsync(long lastEventId, CancellationToken cancellationToken)
    {
        _lastFeedId = lastEventId;
        var connection = await ListenAsync(cancellationToken).ConfigureAwait(false);
        _listenLoop = Task.Run(() => ListenLoopAsync(connection), CancellationToken.None);
        _refreshLoop = Task.Run(RefreshLoopAsync, CancellationToken.None);
    }

    /// <summary>
    /// This instance committed events up to <paramref name="lastEventId"/> (0: none): they are read into the live
    /// streams, in id order with everyone's. While nobody streams, the feed just moves past them, with no query:
    /// every id below it is committed already, so a stream that subscribes later misses nothing of its own time.
    /// </summary>
    public void CommittedHere(long lastEventId)
    {
        if (lastEventId <= 0)
        {
            return;
        }

        if (_feedObservers.Any(o => o.WantsFeed))
        {
            RequestFeed();
        }
        else
        {
            AdvanceFeed(lastEventId);
        }
    }

    /// <summary>Moves the feed's position forward (never back: writers and the refresh loop both move it).</summary>
    private void AdvanceFeed(long id)
    {
        var seen = Volatile.Read(ref _lastFeedId);
        while (id > seen)
        {
            var previous = Interlocked.CompareExchange(ref _lastFeedId, id, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    private void RequestFeed()
    {
        if (Interlocked.Exchange(ref _feedPending, 1) == 0)
        {
            _work.Release();
        }
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            connection.Notification += OnNotification;
            await using var listen = new NpgsqlCommand($"LISTEN \"{_options.Channel.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            IsListening = true;
            return connection;
        }
        catch
        {
            connection.Notification -= OnNotification;
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ListenLoopAsync(NpgsqlConnection connection)
    {
        var stopping = _stopping.Token;
        var delay = TimeSpan.FromMilliseconds(100);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await connection.WaitAsync(stopping).ConfigureAwait(false);
                continue;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                IsListening = false;
                _logger.LogWarning("Lost the PostgreSQL notification connection ({Error}); cached jobs are not trusted until it is back", ex.Message);
                Tell(o => o.ChangesMayHaveBeenMissed());
                connection.Notification -= OnNotification;
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            // Reconnect with backoff; until then nothing cached is served without the store's confirmation anyway.
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(delay, stopping).ConfigureAwait(false);
                    connection = await ListenAsync(stopping).ConfigureAwait(false);
                    delay = TimeSpan.FromMilliseconds(100);
                    // Whatever changed while deaf is unknown: forget the cache and read the events missed.
                    Tell(o => o.ChangesMayHaveBeenMissed());
                    RequestFeed();
                    _enlisted?.Invoke();
                    _logger.LogInformation("PostgreSQL notification connection restored");
                    break;
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    delay = TimeSpan.FromTicks(Math.Min(MaxReconnectDelay.Ticks, delay.Ticks * 2));
                    _logger.LogDebug("Reconnecting to PostgreSQL for notifications failed: {Error}", ex.Message);
                }
            }
        }

        connection.Notification -= OnNotification;
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs args)
    {
        var notice = PostgresChangeNotice.Decode(args.Payload);
        if (notice is null || notice.Instance == _instance)
        {
            return;
        }

        if (notice.Instance == PostgresChangeNotice.Enlisted)
        {
            // An application's transaction committed jobs: their creation is recorded next (and then told as any commit).
            _enlisted?.Invoke();
            return;
        }

        // At once, on the connection's thread: nothing older than these versions may be served from now on.
        if (notice.Changes.Count > 0 || notice.QueuedTypes.Count > 0)
        {
            Tell(o => o.JobsChangedElsewhere(notice.Changes, notice.QueuedTypes));
            var wanted = false;
            lock (_pendingLock)
            {
                foreach (var change in notice.Changes)
                {
                    if (_observers.Any(o => o.WantsStateOf(change.JobId)))
                    {
                        wanted |= _pendingIds.Add(change.JobId);
                    }
                }
            }

            if (wanted)
            {
                _work.Release();
            }
        }

        if (notice.HasEvents)
        {
            RequestFeed();
        }
    }

    /// <summary>Reads the new states of jobs changed elsewhere and the new events, and hands them to the observers.</summary>
    private async Task RefreshLoopAsync()
    {
        var stopping = _stopping.Token;
        while (true)
        {
            try
            {
                await _work.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await RefreshChangedJobsAsync(stopping).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _feedPending, 0) == 1)
                {
                    await ReadFeedAsync(stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store is unreachable: try again shortly (the cache is guarded by version checks meanwhile).
                _logger.LogWarning("Reading changes made by other instances failed: {Error}", ex.Message);
                RequestFeed();
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RefreshChangedJobsAsync(CancellationToken cancellationToken)
    {
        HashSet<string> ids;
        lock (_pendingLock)
        {
            if (_pendingIds.Count == 0)
            {
                return;
            }

            ids = _pendingIds;
            _pendingIds = new HashSet<string>(StringComparer.Ordinal);
        }

        try
        {
            var changes = await _readJobs([.. ids], cancellationToken).ConfigureAwait(false);
            Tell(o => o.JobsCommitted(changes));
        }
        catch
        {
            lock (_pendingLock)
            {
                _pendingIds.UnionWith(ids);
            }

            throw;
        }
    }

    private async Task ReadFeedAsync(CancellationToken cancellationToken)
    {
        if (!_feedObservers.Any(o => o.WantsFeed))
        {
            // Nobody streams: skip to the newest id instead of reading and decoding every event. The id is read
            // before looking again, so a stream that subscribed meanwhile still gets everything committed after it.
            var newest = await _readLastEventId(cancellationToken).ConfigureAwait(false);
            if (!_feedObservers.Any(o => o.WantsFeed))
            {
                AdvanceFeed(newest);
                return;
            }
        }

        while (true)
        {
            var page = await _readFeed(Volatile.Read(ref _lastFeedId), FeedPage, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                return;
            }

            AdvanceFeed(page[^1].Event.Id);
            foreach (var observer in _feedObservers)
            {
                try
                {
                    observer.FeedCommitted(page);
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "Feed observer {Observer} failed", observer.GetType().Name);
                }
            }

            if (page.Count < FeedPage)
            {
                return;
            }
        }
    }

    private void Tell(Action<IJobStoreObserver> action)
    {
        foreach (var observer in _observers)
        {
            try
            {
                action(observer);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Store observer {Observer} failed", observer.GetType().Name);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var loop in new[] { _listenLoop, _refreshLoop })
        {
            if (loop is not null)
            {
                try
                {
                    await loop.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        _stopping.Dispose();
        _work.Dispose();
    }
}
