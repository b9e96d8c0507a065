using System.Diagnostics.Metrics;
using Jobkeeper.AspNetCore.Metrics;

namespace Jobkeeper.Core.Tests;

/// <summary>The Prometheus text the exporter writes for instruments of a private meter: names, labels, escaping, buckets.</summary>
public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new($"test.{Guid.NewGuid():N}");
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests() =>
        _exporter = new PrometheusExporter(i => ReferenceEquals(i.Meter, _meter), _ => Task.CompletedTask);

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    [Theory]
    [InlineData("jobkeeper.jobs.created", "{job}", true, "jobkeeper_jobs_created_total", 1.0)]
    [InlineData("http.server.request.duration", "s", false, "http_server_request_duration_seconds", 1.0)]
    [InlineData("jobkeeper.store.commit.duration", "ms", false, "jobkeeper_store_commit_duration_seconds", 0.001)]
    [InlineData("size", "By", false, "size_bytes", 1.0)]
    [InlineData("odd-name/with spaces", null, false, "odd_name_with_spaces", 1.0)]
    [InlineData("9lives", null, true, "_9lives_total", 1.0)]
    [InlineData("already_total", null, true, "already_total", 1.0)]
    public void Instrument_names_become_prometheus_names(string name, string? unit, bool counter, string expected, double scale)
    {
        Assert.Equal((expected, scale), MetricFamily.PrometheusName(name, unit, counter));
    }

    [Fact]
    public void Counters_sum_per_tag_set_whatever_the_tag_order_and_escape_values()
    {
        var counter = _meter.CreateCounter<long>("jobs.done", "{job}", "Jobs \\ done\nhere");
        counter.Add(2, new("type", "a"), new("zone", "x"));
        counter.Add(3, new("zone", "x"), new("type", "a"));
        counter.Add(1, new("type", "q\"b\\c\nd"), new("bad.label-name", 7));

        var text = _exporter.Collect();

        Assert.Equal(
            "# HELP jobs_done_total Jobs \\\\ done\\nhere\n" +
            "# TYPE jobs_done_total counter\n" +
            "jobs_done_total{bad_label_name=\"7\",type=\"q\\\"b\\\\c\\nd\"} 1\n" +
            "jobs_done_total{type=\"a\",zone=\"x\"} 5\n",
            text);
    }

    [Fact]
    public void Histograms_have_cumulative_buckets_ending_in_inf_equal_to_count_in_base_units()
    {
        var histogram = _meter.CreateHistogram<double>("commit.duration", "ms", "Commit time");
        foreach (var ms in new[] { 0.5, 1, 7, 200_000_000 })
        {
            histogram.Record(ms);
        }

        var lines = _exporter.Collect().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("# TYPE commit_duration_seconds histogram", lines[1]);
        Assert.Contains("commit_duration_seconds_bucket{le=\"0.001\"} 2", lines);
        Assert.Contains("commit_duration_seconds_bucket{le=\"0.005\"} 2", lines);
        Assert.Contains("commit_duration_seconds_bucket{le=\"0.01\"} 3", lines);
        Assert.Contains("commit_duration_seconds_bucket{le=\"86400\"} 3", lines);
        Assert.Contains("commit_duration_seconds_bucket{le=\"+Inf\"} 4", lines);
        Assert.Contains("commit_duration_seconds_count 4", lines);
        var sum = double.Parse(lines.Single(l => l.StartsWith("commit_duration_seconds_sum ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(200_000.0085, sum, 6);
    }

    [Fact]
    public void Advised_bucket_boundaries_are_used()
    {
        var histogram = _meter.CreateHistogram<int>("batch", null, "Batch", tags: null,
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [10, 100] });
        histogram.Record(5);
        histogram.Record(50);
        histogram.Record(500);

        var lines = _exporter.Collect().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(
            ["batch_bucket{le=\"10\"} 1", "batch_bucket{le=\"100\"} 2", "batch_bucket{le=\"+Inf\"} 3", "batch_sum 555", "batch_count 3"],
            lines.Where(l => !l.StartsWith('#')));
    }

    [Fact]
    public void Observable_instruments_are_read_on_each_scrape_and_forget_tag_sets_no_longer_reported()
    {
        var value = 3;
        var reportSecond = true;
        _meter.CreateObservableGauge("queue.depth", () => reportSecond
            ? new[] { new Measurement<int>(value, new KeyValuePair<string, object?>("q", "a")), new Measurement<int>(1, new KeyValuePair<string, object?>("q", "b")) }
            : [new Measurement<int>(value, new KeyValuePair<string, object?>("q", "a"))], null, "Depth");
        _meter.CreateObservableCounter("lookups", () => 10L * value, null, "Lookups");

        var first = _exporter.Collect();
        Assert.Contains("queue_depth{q=\"a\"} 3\n", first, StringComparison.Ordinal);
        Assert.Contains("queue_depth{q=\"b\"} 1\n", first, StringComparison.Ordinal);
        Assert.Contains("# TYPE lookups_total counter\nlookups_total 30\n", first, StringComparison.Ordinal);

        value = 4;
        reportSecond = false;
        var second = _exporter.Collect();
        Assert.Contains("queue_depth{q=\"a\"} 4\n", second, StringComparison.Ordinal);
        Assert.DoesNotContain("q=\"b\"", second, StringComparison.Ordinal);
        Assert.Contains("lookups_total 40\n", second, StringComparison.Ordinal);
    }

    [Fact]
    public void Up_down_counters_are_gauges_and_long_label_sets_grow_the_buffer()
    {
        var active = _meter.CreateUpDownCounter<int>("active", null, "Active");
        var longValue = new string('x', 1000);
        active.Add(5, new KeyValuePair<string, object?>("k", longValue));
        active.Add(-2, new KeyValuePair<string, object?>("k", longValue));

        var text = _exporter.Collect();

        Assert.Contains("# TYPE active gauge\n", text, StringComparison.Ordinal);
        Assert.Contains($"active{{k=\"{longValue}\"}} 3\n", text, StringComparison.Ordinal);
    }
}
