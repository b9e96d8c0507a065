using System.Diagnostics.Metrics;
using Jobkeeper.Contracts;
using Jobkeeper.Model;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Hosting;

namespace Jobkeeper.Queues;

/// <summary>
/// Each queue's state on the "Jobkeeper" meter: its jobs by status, its concurrency limit, whether it is paused, the age of
/// its oldest due queued job and its starts in the current rate window. Read through <see cref="QueueManager.ListAsync"/>
/// at most once per <see cref="JobkeeperGauges.StatsMaxAge"/>; a failed read keeps the last values.
/// </summary>
public sealed class QueueGauges : IHostedService
{
    private readonly QueueManager _queues;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private volatile IReadOnlyList<QueueInfo> _last = [];
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;
    private Task? _reading;

    internal QueueGauges(QueueManager queues, TimeProvider time, JobkeeperInstruments instruments)
    {
        _queues = queues;
        _time = time;
        var meter = instruments.Meter;
        meter.CreateObservableGauge("jobkeeper.queue.jobs", () => Observe(q => q.Counts.Select(c => new Measurement<long>(c.Value, Tag(q), new("status", c.Key)))),
            "{job}", "Jobs of each queue by status (a few seconds old at most)");
        meter.CreateObservableGauge("jobkeeper.queue.concurrency_limit",
            () => Observe<long>(q => q.ConcurrencyLimit is { } limit ? [new Measurement<long>(limit, Tag(q))] : []),
            "{job}", "A queue's concurrency limit over all instances (only queues that have one)");
        meter.CreateObservableGauge("jobkeeper.queue.paused", () => Observe<long>(q => [new Measurement<long>(q.Paused ? 1 : 0, Tag(q))]),
            "{queue}", "1 while the queue is paused, else 0");
        meter.CreateObservableGauge("jobkeeper.queue.oldest_queued_age",
            () => Observe<double>(q => q.OldestQueuedAgeSeconds is { } age ? [new Measurement<double>(age, Tag(q))] : []),
            "s", "How long a queue's oldest due queued job has waited");
        meter.CreateObservableGauge("jobkeeper.queue.rate_window.started",
            () => Observe<long>(q => q.StartedInRateWindow is { } started ? [new Measurement<long>(started, Tag(q))] : []),
            "{job}", "Jobs a rate-limited queue started in its current window (compare with its rate_limit count)");
    }

    /// <summary>Brings the queues' state up to date when it is older than <see cref="JobkeeperGauges.StatsMaxAge"/> (a scrape awaits this first).</summary>
    public Task RefreshAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_reading is { IsCompleted: false } reading)
            {
                return reading;
            }

            if (_time.GetUtcNow() - _readAt < JobkeeperGauges.StatsMaxAge)
            {
                return Task.CompletedTask;
            }

            return _reading = ReadAsync(cancellationToken);
        }
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            _last = await _queues.ListAsync(cancellationToken).ConfigureAwait(false);
            _readAt = _time.GetUtcNow();
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The store cannot be read now (health says so): the gauges keep the last values.
        }
    }

    private IEnumerable<Measurement<T>> Observe<T>(Func<QueueInfo, IEnumerable<Measurement<T>>> measure)
        where T : struct
    {
        _ = RefreshAsync(CancellationToken.None);
        return _last.SelectMany(measure).ToArray();
    }

    private static KeyValuePair<string, object?> Tag(QueueInfo queue) => new("queue", queue.Name);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
