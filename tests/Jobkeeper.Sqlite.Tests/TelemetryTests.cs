using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Jobkeeper.Model;
using Jobkeeper.Telemetry;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>Jobkeeper reports traces and metrics under the name "Jobkeeper".</summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly TempDatabase _database = new();

    [Fact]
    public async Task Creates_and_updates_are_traced_and_counted()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == JobkeeperMetrics.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        long created = 0;
        var batchSizes = new ConcurrentQueue<int>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == JobkeeperMetrics.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "jobkeeper.jobs.created" && tags.ToArray().Any(t => t.Key == "type" && (string?)t.Value == "telemetry.test"))
            {
                Interlocked.Add(ref created, value);
            }
        });
        meters.SetMeasurementEventCallback<int>((instrument, value, _, _) =>
        {
            if (instrument.Name == "jobkeeper.store.commit.batch_size")
            {
                batchSizes.Enqueue(value);
            }
        });
        meters.Start();

        await using var host = await ManagerHost.StartAsync(_database.Path);
        var job = await host.Manager.CreateAsync(new NewJob { Type = "telemetry.test" });
        await host.Manager.UpdateAsync(job.Id, new JobPatch { Status = JobStatus.Running });

        Assert.Equal(1, Interlocked.Read(ref created));
        Assert.NotEmpty(batchSizes);
        Assert.Contains(activities, a => a.OperationName == "jobkeeper.job.create" && (string?)a.GetTagItem("jobkeeper.job.id") == job.Id);
        Assert.Contains(activities, a => a.OperationName == "jobkeeper.job.update" && (long?)a.GetTagItem("jobkeeper.job.version") == 2);
    }

    public void Dispose() => _database.Dispose();
}
