using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Jobkeeper.AspNetCore.Metrics;

/// <summary>One instrument as one Prometheus metric family: its name, help, type and a series per tag set.</summary>
internal sealed class MetricFamily
{
    private static readonly double[] SecondsBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

    private static readonly double[] CountBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

    [ThreadStatic]
    private static char[]? t_labelBuffer;

    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Series>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Kind _kind;
    private readonly double _scale;
    private readonly double[]? _bounds;
    private readonly string[]? _boundLabels;

    private MetricFamily(string name, string help, Kind kind, double scale, double[]? bounds)
    {
        Name = name;
        Help = help;
        _kind = kind;
        _scale = scale;
        _bounds = bounds;
        _boundLabels = bounds?.Select(b => FormatNumber(b)).Append("+Inf").ToArray();
        _lookup = _series.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private enum Kind
    {
        /// <summary>Measurements are increments, summed per tag set.</summary>
        Counter,
        /// <summary>Measurements are increments of a value that can go down (up-down counter): a gauge.</summary>
        SumGauge,
        /// <summary>Measurements are the current value: observable gauges and counters, synchronous gauges.</summary>
        LastValue,
        Histogram,
    }

    public string Name { get; }

    public string Help { get; }

    private string TypeName => _kind switch
    {
        Kind.Counter => "counter",
        Kind.Histogram => "histogram",
        _ => IsCumulative ? "counter" : "gauge",
    };

    private bool IsCumulative { get; init; }

    private bool IsObservable { get; init; }

    /// <summary>The family for an instrument, or null for a kind this exporter does not know.</summary>
    public static MetricFamily? Create(Instrument instrument)
    {
        var definition = instrument.GetType().IsGenericType ? instrument.GetType().GetGenericTypeDefinition() : null;
        var (kind, cumulative) = definition switch
        {
            _ when definition == typeof(Counter<>) => (Kind.Counter, true),
            _ when definition == typeof(UpDownCounter<>) => (Kind.SumGauge, false),
            _ when definition == typeof(Histogram<>) => (Kind.Histogram, false),
            _ when definition == typeof(ObservableCounter<>) => (Kind.LastValue, true),
            _ when definition == typeof(ObservableUpDownCounter<>) => (Kind.LastValue, false),
            _ when definition == typeof(ObservableGauge<>) => (Kind.LastValue, false),
            _ when definition == typeof(Gauge<>) => (Kind.LastValue, false),
            _ => ((Kind?)null, false),
        };
        if (kind is not { } k)
        {
            return null;
        }

        var (name, scale) = PrometheusName(instrument.Name, instrument.Unit, cumulative);
        var bounds = k == Kind.Histogram ? BucketsFor(instrument, scale, name) : null;
        var help = instrument.Description is { Length: > 0 } d ? d : instrument.Name;
        return new MetricFamily(name, help, k, scale, bounds) { IsCumulative = cumulative, IsObservable = instrument.IsObservable };
    }

    /// <summary>
    /// Dots and other characters Prometheus does not allow become underscores; a time or size unit becomes a base-unit
    /// suffix (milliseconds are reported in seconds); counters end in <c>_total</c>.
    /// </summary>
    public static (string Name, double Scale) PrometheusName(string instrumentName, string? unit, bool counter)
    {
        var builder = new StringBuilder(instrumentName.Length + 16);
        for (var i = 0; i < instrumentName.Length; i++)
        {
            var c = instrumentName[i];
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        var (suffix, scale) = unit switch
        {
            "s" => ("_seconds", 1.0),
            "ms" => ("_seconds", 0.001),
            "us" or "µs" => ("_seconds", 0.000_001),
            "ns" => ("_seconds", 0.000_000_001),
            "By" => ("_bytes", 1.0),
            _ => ("", 1.0),
        };
        var name = builder.ToString();
        if (suffix.Length > 0 && !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        if (counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        return (name, scale);
    }

    private static double[] BucketsFor(Instrument instrument, double scale, string name)
    {
        IReadOnlyList<double>? advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            _ => null,
        };
        if (advised is { Count: > 0 })
        {
            return [.. advised.Select(b => b * scale).Distinct().Order()];
        }

        return name.EndsWith("_seconds", StringComparison.Ordinal) ? SecondsBuckets : CountBuckets;
    }

    /// <summary>Observable instruments report afresh on each scrape: forget what they reported last time.</summary>
    public void BeginObservation()
    {
        if (IsObservable)
        {
            _series.Clear();
        }
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        var series = GetSeries(tags);
        value *= _scale;
        switch (_kind)
        {
            case Kind.Counter or Kind.SumGauge:
                series.Add(value);
                break;
            case Kind.LastValue:
                series.Set(value);
                break;
            default:
                series.Observe(value, _bounds!);
                break;
        }
    }

    private Series GetSeries(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var buffer = t_labelBuffer ??= new char[256];
        int length;
        while (!TryWriteLabels(tags, buffer, out length))
        {
            buffer = t_labelBuffer = new char[buffer.Length * 2];
        }

        var key = buffer.AsSpan(0, length);
        if (_lookup.TryGetValue(key, out var series))
        {
            return series;
        }

        return _series.GetOrAdd(key.ToString(), _ => new Series(_bounds?.Length + 1 ?? 0));
    }

    /// <summary>Writes <c>name="value",...</c> sorted by name, names made valid and values escaped; false when the buffer is too small.</summary>
    internal static bool TryWriteLabels(ReadOnlySpan<KeyValuePair<string, object?>> tags, Span<char> buffer, out int written)
    {
        written = 0;
        Span<int> order = tags.Length <= 32 ? stackalloc int[tags.Length] : new int[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            var j = i;
            while (j > 0 && string.CompareOrdinal(tags[order[j - 1]].Key, tags[i].Key) > 0)
            {
                order[j] = order[j - 1];
                j--;
            }

            order[j] = i;
        }

        var pos = 0;
        for (var n = 0; n < tags.Length; n++)
        {
            var tag = tags[order[n]];
            if (n > 0 && !Put(buffer, ref pos, ','))
            {
                return false;
            }

            if (tag.Key.Length == 0 || char.IsAsciiDigit(tag.Key[0]))
            {
                if (!Put(buffer, ref pos, '_'))
                {
                    return false;
                }
            }

            foreach (var c in tag.Key)
            {
                if (!Put(buffer, ref pos, char.IsAsciiLetterOrDigit(c) ? c : '_'))
                {
                    return false;
                }
            }

            if (!Put(buffer, ref pos, '=') || !Put(buffer, ref pos, '"') || !WriteValue(tag.Value, buffer, ref pos) || !Put(buffer, ref pos, '"'))
            {
                return false;
            }
        }

        written = pos;
        return true;
    }

    private static bool WriteValue(object? value, Span<char> buffer, ref int pos)
    {
        switch (value)
        {
            case null:
                return true;
            case string s:
                return WriteEscaped(s, buffer, ref pos);
            case bool b:
                return WriteEscaped(b ? "true" : "false", buffer, ref pos);
            case ISpanFormattable f:
                // Numbers and the like have nothing to escape.
                if (!f.TryFormat(buffer[pos..], out var count, default, CultureInfo.InvariantCulture))
                {
                    return false;
                }

                pos += count;
                return true;
            default:
                return WriteEscaped(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", buffer, ref pos);
        }
    }

    private static bool WriteEscaped(ReadOnlySpan<char> text, Span<char> buffer, ref int pos)
    {
        foreach (var c in text)
        {
            var ok = c switch
            {
                '\\' => Put(buffer, ref pos, '\\') && Put(buffer, ref pos, '\\'),
                '"' => Put(buffer, ref pos, '\\') && Put(buffer, ref pos, '"'),
                '\n' => Put(buffer, ref pos, '\\') && Put(buffer, ref pos, 'n'),
                _ => Put(buffer, ref pos, c),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Put(Span<char> buffer, ref int pos, char c)
    {
        if (pos >= buffer.Length)
        {
            return false;
        }

        buffer[pos++] = c;
        return true;
    }

    public void Write(StringBuilder text, bool writeHeader)
    {
        if (writeHeader)
        {
            text.Append("# HELP ").Append(Name).Append(' ');
            foreach (var c in Help)
            {
                _ = c switch
                {
                    '\\' => text.Append("\\\\"),
                    '\n' => text.Append("\\n"),
                    _ => text.Append(c),
                };
            }

            text.Append('\n').Append("# TYPE ").Append(Name).Append(' ').Append(TypeName).Append('\n');
        }

        foreach (var (labels, series) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (_kind != Kind.Histogram)
            {
                WriteSample(text, Name, labels, null, series.Value);
                continue;
            }

            long cumulative = 0;
            for (var i = 0; i < _boundLabels!.Length; i++)
            {
                cumulative += series.BucketCount(i);
                WriteSample(text, Name + "_bucket", labels, _boundLabels[i], cumulative);
            }

            WriteSample(text, Name + "_sum", labels, null, series.Value);
            WriteSample(text, Name + "_count", labels, null, cumulative);
        }
    }

    private static void WriteSample(StringBuilder text, string name, string labels, string? le, double value)
    {
        text.Append(name);
        if (labels.Length > 0 || le is not null)
        {
            text.Append('{').Append(labels);
            if (le is not null)
            {
                text.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
            }

            text.Append('}');
        }

        text.Append(' ').Append(FormatNumber(value)).Append('\n');
    }

    internal static string FormatNumber(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>One tag set's value: a sum or last value, or a histogram's sum and bucket counts.</summary>
    private sealed class Series(int buckets)
    {
        private readonly long[] _buckets = buckets == 0 ? [] : new long[buckets];
        private double _value;

        public double Value => Volatile.Read(ref _value);

        public long BucketCount(int index) => Interlocked.Read(ref _buckets[index]);

        public void Set(double value) => Volatile.Write(ref _value, value);

        public void Add(double value)
        {
            var current = Volatile.Read(ref _value);
            while (true)
            {
                var seen = Interlocked.CompareExchange(ref _value, current + value, current);
                if (seen.Equals(current))
                {
                    return;
                }

                current = seen;
            }
        }

        public void Observe(double value, double[] bounds)
        {
            var index = Array.BinarySearch(bounds, value);
            Interlocked.Increment(ref _buckets[index >= 0 ? index : ~index]);
            Add(value);
        }
    }
}
