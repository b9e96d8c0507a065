using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

public abstract partial class JobStoreContract
{
    public static TheoryData<string> Orders() => ["created", "-created", "updated", "-updated", "priority", "-priority", "duration", "-duration"];

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task Every_order_pages_through_every_match_once_in_order_ties_broken_by_id(string sort)
    {
        Assert.True(JobOrder.TryParse(sort, out var order));
        var random = new Random(42);
        var labels = new Dictionary<string, string> { ["batch"] = "b1" };
        var jobs = new List<Job>();
        for (var i = 0; i < 23; i++)
        {
            var started = T0.AddSeconds(random.Next(0, 5));
            var job = New($"ord-{i:D2}", T0.AddSeconds(random.Next(0, 4)), status: i % 3 == 0 ? JobStatus.Queued : JobStatus.Completed, labels: i % 2 == 0 ? labels : null) with
            {
                Priority = random.Next(-2, 3),
                UpdatedAt = T0.AddSeconds(random.Next(0, 6)),
                StartedAt = i % 3 == 0 ? null : started,
            };
            job = job.Status == JobStatus.Completed ? job with { CompletedAt = started.AddSeconds(random.Next(0, 3)) } : job with { CompletedAt = null };
            jobs.Add(job);
            Assert.True(await Store.InsertAsync(job, Created(job), None));
        }

        async Task<List<string>> PageThroughAsync(JobQuery query)
        {
            var seen = new List<string>();
            query = query with { Order = order, Limit = 4 };
            while (true)
            {
                var page = await Store.ListAsync(query, None);
                seen.AddRange(page.Items.Select(j => j.Id));
                if (page.Next is not { } next)
                {
                    return seen;
                }

                Assert.Equal(order, next.Order);
                Assert.True(JobCursor.TryDecode(next.Encode(), out var decoded));
                Assert.Equal(next, decoded);
                query = query with { After = decoded };
            }
        }

        List<string> Expected(IEnumerable<Job> matching)
        {
            var sorted = matching.OrderBy(j => order.KeyOf(j)).ThenBy(j => j.Id, StringComparer.Ordinal).Select(j => j.Id).ToList();
            if (order.Descending)
            {
                sorted.Reverse();
            }

            return sorted;
        }

        Assert.Equal(Expected(jobs), await PageThroughAsync(new JobQuery()));
        Assert.Equal(Expected(jobs.Where(j => j.Status == JobStatus.Completed)), await PageThroughAsync(new JobQuery { Statuses = [JobStatus.Completed] }));
        Assert.Equal(Expected(jobs.Where(j => j.Labels.Count > 0)), await PageThroughAsync(new JobQuery { Labels = [new("batch", "b1")] }));
        Assert.Equal(Expected(jobs.Where(j => j.Status != JobStatus.Running)),
            await PageThroughAsync(new JobQuery { Statuses = [JobStatus.Queued, JobStatus.Completed] }));
    }
}
