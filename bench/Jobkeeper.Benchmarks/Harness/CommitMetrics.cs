using System.Diagnostics.Metrics;
using Jobkeeper.Telemetry;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>
/// Listens to the store's own instruments (jobkeeper.store.commit.batch_size / .duration): how many
/// transactions the writer committed, how big they were and how long the writer spent in them.
/// Writer busy time / wall time says whether the single writer is the bottleneck.
/// </summary>
public sealed class CommitMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _commits;
    private long _operations;
    private long _maxBatch;
    private double _busyMs;
    private double _maxCommitMs;
    private readonly Lock _lock = new();

    public CommitMetrics()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == JobkeeperTelemetry.MeterName && instrument.Name.StartsWith("jobkeeper.store.commit.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((instrument, value, _, _) =>
        {
            lock (_lock)
            {
                _commits++;
                _operations += value;
                _maxBatch = Math.Max(_maxBatch, value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, seconds, _, _) =>
        {
            var value = seconds * 1000;
            lock (_lock)
            {
                _busyMs += value;
                _maxCommitMs = Math.Max(_maxCommitMs, value);
            }
        });
        _listener.Start();
    }

    public void Reset()
    {
        lock (_lock)
        {
            _commits = 0;
            _operations = 0;
            _maxBatch = 0;
            _busyMs = 0;
            _maxCommitMs = 0;
        }
    }

    public (long Commits, long Operations, long MaxBatch, double BusyMs, double MaxCommitMs) Snapshot()
    {
        lock (_lock)
        {
            return (_commits, _operations, _maxBatch, _busyMs, _maxCommitMs);
        }
    }

    /// <summary>One line: transactions, writes per transaction, and writer busy time.</summary>
    public string Describe()
    {
        var (commits, operations, maxBatch, busyMs, _) = Snapshot();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{commits:N0} transactions, {(commits == 0 ? 0 : (double)operations / commits):N1} writes each (max {maxBatch}), writer busy {busyMs / 1000:N2} s");
    }

    public void Dispose() => _listener.Dispose();
}
