using System.Diagnostics;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>Fills a store quickly through <see cref="IJobStore.InsertAsync"/> from many concurrent producers (the writer group-commits them).</summary>
public static class Seeder
{
    /// <summary>
    /// Inserts <paramref name="count"/> jobs created evenly between <paramref name="from"/> and <paramref name="to"/>
    /// (job <c>i</c> at the i-th step, so the newest are the highest i). Returns the elapsed time.
    /// </summary>
    public static async Task<TimeSpan> InsertAsync(IJobStore store, long count, DateTimeOffset from, DateTimeOffset to,
        JobStatus? status = null, int producers = 64, long firstIndex = 0, Action<long>? progress = null)
    {
        var step = (to - from).Ticks / Math.Max(1, count);
        long next = -1;
        long done = 0;
        var started = Stopwatch.GetTimestamp();
        var tasks = new Task[producers];
        for (var p = 0; p < producers; p++)
        {
            var random = new Random(12345 + p);
            tasks[p] = Task.Run(async () =>
            {
                long i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var (job, created) = SampleJobs.Seeded(firstIndex + i, from.AddTicks(step * i), random, status);
                    if (!await store.InsertAsync(job, created, CancellationToken.None).ConfigureAwait(false))
                    {
                        throw new InvalidOperationException($"Seed job {job.Id} collided with an existing id.");
                    }

                    var d = Interlocked.Increment(ref done);
                    if (progress is not null && d % 100_000 == 0)
                    {
                        progress(d);
                    }
                }
            });
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(started);
    }
}
