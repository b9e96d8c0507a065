using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

public abstract partial class JobStoreContract
{
    /// <summary>Searches after bringing the index up to date, as the search indexer does about twice a second.</summary>
    private async Task<string[]> SearchAsync(string text, JobQuery? filters = null)
    {
        while (await Store.IndexSearchAsync(2, None) == 2)
        {
        }

        var query = (filters ?? new JobQuery()) with { Search = JobSearch.Parse(text), Limit = JobQuery.MaxLimit };
        return [.. (await Store.ListAsync(query, None)).Items.Select(j => j.Id)];
    }

    [Fact]
    public async Task A_search_finds_jobs_by_id_prefix_and_by_every_word_of_their_type_labels_input_result_and_error()
    {
        var failed = New("srch-failed", T0, "audio.analyze", JobStatus.Failed, new Dictionary<string, string> { ["user"] = "ann" }) with
        {
            Input = ParseJson("""{"file":"episode-43.mp3","note":"Überraschung"}"""),
            Error = new JobError { Message = "The codec is missing", Code = "codec_missing" },
        };
        var done = New("srch-done", T0.AddSeconds(1), "video.render", JobStatus.Completed) with { Result = ParseJson("""{"frames":1200,"format":"webm"}""") };
        var other = New("other-1", T0.AddSeconds(2), "audio.analyze");
        foreach (var job in new[] { failed, done, other })
        {
            Assert.True(await Store.InsertAsync(job, Created(job), None));
        }

        Assert.Equal(["srch-failed"], await SearchAsync("codec"));
        Assert.Equal(["srch-failed"], await SearchAsync("CODEC  Missing!"));
        Assert.Empty(await SearchAsync("codec webm"));
        Assert.Equal(["srch-failed"], await SearchAsync("episode 43 mp3"));
        Assert.Equal(["srch-failed"], await SearchAsync("ann"));
        Assert.Equal(["srch-failed"], await SearchAsync("überraschung"));
        Assert.Equal(["srch-done"], await SearchAsync("webm"));
        Assert.Equal(["other-1", "srch-failed"], await SearchAsync("analyze"));
        // An id prefix, newest first; other filters still apply.
        Assert.Equal(["srch-done", "srch-failed"], await SearchAsync("srch-"));
        Assert.Equal(["srch-done"], await SearchAsync("srch-", new JobQuery { Statuses = [JobStatus.Completed] }));
        Assert.Equal(["srch-failed"], await SearchAsync("audio", new JobQuery { Statuses = [JobStatus.Failed, JobStatus.Completed] }));

        // Query syntax of either engine is only words here: nothing breaks, nothing is injected.
        foreach (var text in new[] { "\"codec\" OR *", "codec NEAR(missing", "codec:* | !x & (y", "'; DROP TABLE jobs; --", "\\\"\u0000%_*", new string('x', 1000), "codec " + new string('é', 999) })
        {
            Assert.NotNull(await SearchAsync(text));
        }

        Assert.Equal(["srch-failed"], await SearchAsync("codec -- '"));
        Assert.Equal(3, (await Store.ListAsync(new JobQuery(), None)).Items.Count);
    }

    [Fact]
    public async Task A_search_follows_changes_of_the_result_and_error_and_forgets_deleted_jobs()
    {
        var job = New("srch-change", T0, "audio.analyze", JobStatus.Running) with { Error = new JobError { Message = "first try timed out" } };
        await Store.InsertAsync(job, Created(job), None);
        Assert.Equal(["srch-change"], await SearchAsync("timed out"));

        var done = job with { Status = JobStatus.Completed, Error = null, Result = ParseJson("""{"verdict":"splendid"}"""), Version = 2, UpdatedAt = T0.AddSeconds(1), CompletedAt = T0.AddSeconds(1) };
        Assert.True(await Store.ReplaceAsync(new JobReplacement(done, 1, [Updated(done)], false), None));
        Assert.Empty(await SearchAsync("timed"));
        Assert.Equal(["srch-change"], await SearchAsync("splendid"));

        // A change that leaves the text alone (a status change) keeps it findable.
        var again = done with { Version = 3, UpdatedAt = T0.AddSeconds(2) };
        Assert.True(await Store.ReplaceAsync(new JobReplacement(again, 2, [Updated(again)], false), None));
        Assert.Equal(["srch-change"], await SearchAsync("splendid"));

        // Not yet indexed, a change is not seen; once indexed, it is.
        var later = again with { Result = ParseJson("""{"verdict":"superb"}"""), Version = 4, UpdatedAt = T0.AddSeconds(3) };
        Assert.True(await Store.ReplaceAsync(new JobReplacement(later, 3, [Updated(later)], false), None));
        Assert.Equal(["srch-change"], await ListWithoutIndexingAsync("splendid"));
        Assert.Equal(["srch-change"], await SearchAsync("superb"));
        Assert.Empty(await SearchAsync("splendid"));

        Assert.True(await Store.DeleteAsync("srch-change", None));
        Assert.Empty(await SearchAsync("superb"));
        Assert.Empty(await SearchAsync("srch-change"));
    }

    private async Task<string[]> ListWithoutIndexingAsync(string text) =>
        [.. (await Store.ListAsync(new JobQuery { Search = JobSearch.Parse(text) }, None)).Items.Select(j => j.Id)];
}
