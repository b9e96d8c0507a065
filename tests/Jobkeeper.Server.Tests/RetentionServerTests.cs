using System.Net;
using Jobkeeper.Retention;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

public sealed class RetentionServerTests
{
    [Fact]
    public async Task The_server_reads_retention_from_configuration_and_archives_before_deleting()
    {
        using var archive = new TempDirectory("jobkeeper-archive");
        await using var server = await ServerProcess.StartAsync(environment: new Dictionary<string, string>
        {
            ["JOBKEEPER__Retention__Completed"] = "0",
            ["JOBKEEPER__Retention__Interval"] = "00:00:00.200",
            ["JOBKEEPER__Retention__ArchiveDirectory"] = archive.Path,
        });
        var done = (await server.Client.CreateJobAsync("""{"type":"t","labels":{"user":"ann"}}""")).Str("id");
        await server.Client.PatchJobAsync(done, """{"status":"running"}""");
        await server.Client.PatchJobAsync(done, """{"status":"completed","result":{"ok":true}}""");
        var failed = (await server.Client.CreateJobAsync("""{"type":"t"}""")).Str("id");
        await server.Client.PatchJobAsync(failed, """{"status":"running"}""");
        await server.Client.PatchJobAsync(failed, """{"status":"failed","error":{"message":"no"}}""");
        var queued = (await server.Client.CreateJobAsync("""{"type":"t"}""")).Str("id");

        await Api.PollAsync(async () =>
        {
            using var response = await server.Client.GetAsync(Api.JobPath(done));
            return response.StatusCode == HttpStatusCode.NotFound;
        }, TimeSpan.FromSeconds(30), () => "the completed job to be cleaned up");

        await server.Client.GetJobAsync(failed);
        await server.Client.GetJobAsync(queued);
        var file = Assert.Single(Directory.GetFiles(archive.Path, "*.jsonl.gz"));
        var archived = new List<ArchivedJob>();
        await foreach (var job in JobArchive.ReadAsync(file))
        {
            archived.Add(job);
        }

        var only = Assert.Single(archived);
        Assert.Equal(done, only.Job.Id);
        Assert.Equal("ann", only.Job.Labels["user"]);
        Assert.True(only.Job.Result!.Value.GetProperty("ok").GetBoolean());
        Assert.Contains(only.Events, e => e.Type == "created");
    }
}
