using System.Diagnostics.Metrics;
using System.Text;
using Jobkeeper.Telemetry;

namespace Jobkeeper.AspNetCore.Metrics;

/// <summary>
/// Serves System.Diagnostics.Metrics in the Prometheus text exposition format (0.0.4). Listens to Jobkeeper's meters
/// (the shared one and the one scoped to this app's <see cref="JobManager"/>) and to ASP.NET Core's hosting meter of
/// this app; sums counters per tag set, buckets histograms, and observes observable instruments on each scrape.
/// Recording takes no lock and allocates only for a tag set seen for the first time.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>ASP.NET Core's meter for HTTP requests (http.server.request.duration, http.server.active_requests).</summary>
    public const string HostingMeterName = "Microsoft.AspNetCore.Hosting";

    private readonly MeterListener _listener;
    private readonly Func<Instrument, bool> _wants;
    private readonly Func<CancellationToken, Task> _beforeScrape;
    private readonly Lock _collectLock = new();
    private readonly List<MetricFamily> _families = [];
    private readonly StringBuilder _text = new(16 * 1024);

    public PrometheusExporter(JobManager manager, JobkeeperGauges gauges, IMeterFactory? meterFactory)
        : this(instrument => Wants(instrument, manager, meterFactory), gauges.RefreshAsync)
    {
    }

    /// <summary>An exporter of the instruments <paramref name="wants"/> selects; <paramref name="beforeScrape"/> runs before each scrape.</summary>
    internal PrometheusExporter(Func<Instrument, bool> wants, Func<CancellationToken, Task> beforeScrape)
    {
        _wants = wants;
        _beforeScrape = beforeScrape;
        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((MetricFamily)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>The exposition text of everything measured so far; job counts are brought up to date first (at most every few seconds).</summary>
    public async Task<string> ScrapeAsync(CancellationToken cancellationToken)
    {
        await _beforeScrape(cancellationToken).ConfigureAwait(false);
        return Collect();
    }

    /// <summary>Observes the observable instruments and renders every family.</summary>
    public string Collect()
    {
        lock (_collectLock)
        {
            MetricFamily[] families;
            lock (_families)
            {
                families = [.. _families];
            }

            foreach (var family in families)
            {
                family.BeginObservation();
            }

            _listener.RecordObservableInstruments();
            Array.Sort(families, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            _text.Clear();
            string? previous = null;
            foreach (var family in families)
            {
                family.Write(_text, writeHeader: !string.Equals(previous, family.Name, StringComparison.Ordinal));
                previous = family.Name;
            }

            return _text.ToString();
        }
    }

    /// <summary>Jobkeeper's shared meter and the one of this manager; ASP.NET Core's hosting meter of this app (same meter factory).</summary>
    private static bool Wants(Instrument instrument, JobManager manager, IMeterFactory? meterFactory)
    {
        var meter = instrument.Meter;
        return meter.Name switch
        {
            JobkeeperMetrics.Name => meter.Scope is null || ReferenceEquals(meter.Scope, manager),
            HostingMeterName => meterFactory is not null && ReferenceEquals(meter.Scope, meterFactory),
            _ => false,
        };
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_wants(instrument) || MetricFamily.Create(instrument) is not { } family)
        {
            return;
        }

        lock (_families)
        {
            _families.Add(family);
        }

        listener.EnableMeasurementEvents(instrument, family);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is MetricFamily family)
        {
            lock (_families)
            {
                _families.Remove(family);
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
