using Jobkeeper.Model;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>What every store must keep for lease recovery: the lease length of a running job, and which job types something runs.</summary>
public abstract partial class JobStoreContract
{
    [Fact]
    public async Task A_claim_stores_the_lease_length_and_a_reopened_store_reads_it_back()
    {
        await Seed(New("a"));
        var claimed = await Store.ClaimAsync(new Storage.ClaimRequest(new Dictionary<string, int> { ["audio.analyze"] = 1 }, 1, T0.AddMinutes(1)),
            job => JobTransitions.Claim(job, "w", "token", T0.AddMinutes(1).AddSeconds(90), T0.AddMinutes(1)), CancellationToken.None);
        Assert.Single(claimed);

        await Store.DisposeAsync();
        Store = await ReopenAsync(Observer);
        var stored = await Store.GetAsync("a", CancellationToken.None);

        Assert.Equal(TimeSpan.FromSeconds(90), stored!.LeaseDuration);
        Assert.Equal(T0.AddMinutes(1).AddSeconds(90), stored.LeaseExpiresAt);
    }

    [Fact]
    public async Task Recorded_runners_are_listed_by_when_they_were_last_seen()
    {
        await Store.RecordRunnersAsync(Seen(("audio.analyze", T0), ("video.render", T0)), CancellationToken.None);
        await Store.RecordRunnersAsync(Seen(("video.render", T0.AddMinutes(30)), ("mail.send", T0.AddMinutes(-5))), CancellationToken.None);
        // An older sighting never moves a newer one back.
        await Store.RecordRunnersAsync(Seen(("video.render", T0.AddMinutes(1))), CancellationToken.None);
        await Store.RecordRunnersAsync(Seen(), CancellationToken.None);

        Assert.Equal(["audio.analyze", "video.render"], (await Store.GetRunnersAsync(T0, CancellationToken.None)).Order(StringComparer.Ordinal));
        Assert.Equal(["video.render"], await Store.GetRunnersAsync(T0.AddMinutes(10), CancellationToken.None));
        Assert.Empty(await Store.GetRunnersAsync(T0.AddMinutes(31), CancellationToken.None));
    }

    private static Dictionary<string, DateTimeOffset> Seen(params (string Type, DateTimeOffset At)[] seen) =>
        seen.ToDictionary(s => s.Type, s => s.At, StringComparer.Ordinal);
}
