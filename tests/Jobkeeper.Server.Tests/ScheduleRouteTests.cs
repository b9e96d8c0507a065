using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary><c>/api/v1/schedules</c> on the real server: create, read, change, pause, resume, trigger, delete, and bad input.</summary>
public sealed class ScheduleRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    private const string Schedules = "/api/v1/schedules";

    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_schedule_is_created_read_changed_paused_resumed_triggered_and_deleted()
    {
        var name = NewName("nightly");
        using var create = await Client.PostJsonAsync(Schedules,
            $$$"""{"name":"{{{name}}}","cron":"0 3 * * *","time_zone":"Europe/Berlin","job":{"type":"e2e.schedule","input":{"report":"daily"},"labels":{"team":"audio"}},"overlap":"skip"}""");
        var created = await Api.ExpectJsonAsync(create, HttpStatusCode.Created);
        Assert.Equal("/api/v1/schedules/" + name, create.Headers.Location?.ToString());
        Assert.Equal(("0 3 * * *", "Europe/Berlin", "fire_once", "skip", false), (created.Str("cron"), created.Str("time_zone"), created.Str("misfire"), created.Str("overlap"),
            created.GetProperty("paused").GetBoolean()));
        var runs = created.GetProperty("next_runs").EnumerateArray().Select(r => r.GetDateTimeOffset()).ToList();
        Assert.Equal(5, runs.Count);
        // 03:00 in Berlin is 01:00 or 02:00 UTC, a day apart.
        Assert.All(runs, r => Assert.True(r.UtcDateTime.Hour is 1 or 2 && r.Minute == 0, r.ToString("O")));
        Assert.All(runs.Zip(runs.Skip(1)), p => Assert.InRange((p.Second - p.First).TotalHours, 23, 25));

        using var duplicate = await Client.PostJsonAsync(Schedules, $$$"""{"name":"{{{name}}}","interval_seconds":60,"job":{"type":"x"}}""");
        await Api.ExpectProblemAsync(duplicate, HttpStatusCode.Conflict, "name");

        var listed = await Client.GetJsonAsync(Schedules);
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), s => s.Str("name") == name);

        using var patch = await Client.PatchJsonAsync(Schedules + "/" + name, """{"interval_seconds":3600}""");
        var changed = await Api.ExpectJsonAsync(patch, HttpStatusCode.OK);
        Assert.Equal((JsonNull, 3600, JsonNull), (Kind(changed, "cron"), changed.GetProperty("interval_seconds").GetInt32(), Kind(changed, "time_zone")));
        Assert.Equal(0, changed.GetProperty("next_runs")[0].GetDateTimeOffset().Minute);

        var paused = await PostAsync($"{Schedules}/{name}/pause", HttpStatusCode.OK);
        Assert.True(paused.GetProperty("paused").GetBoolean());
        Assert.Equal(0, paused.GetProperty("next_runs").GetArrayLength());
        var triggered = await PostAsync($"{Schedules}/{name}/trigger", HttpStatusCode.OK);
        var job = triggered.GetProperty("job");
        Assert.Equal(("e2e.schedule", name, "daily"), (job.Str("type"), job.GetProperty("labels").Str("schedule"), job.GetProperty("input").Str("report")));
        Assert.Equal(job.Str("id"), triggered.GetProperty("schedule").Str("last_job_id"));
        var resumed = await PostAsync($"{Schedules}/{name}/resume", HttpStatusCode.OK);
        Assert.False(resumed.GetProperty("paused").GetBoolean());
        Assert.Equal(5, resumed.GetProperty("next_runs").GetArrayLength());

        using var delete = await Client.DeleteAsync($"{Schedules}/{name}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var gone = await Client.GetAsync($"{Schedules}/{name}");
        await Api.ExpectProblemAsync(gone, HttpStatusCode.NotFound, "name");
        await Api.GetJobAsync(Client, job.Str("id"));
    }

    [Theory]
    [InlineData("""{"name":"bad name","interval_seconds":60,"job":{"type":"t"}}""", "name")]
    [InlineData("""{"name":"n","cron":"0 25 * * *","job":{"type":"t"}}""", "cron")]
    [InlineData("""{"name":"n","cron":"0 3 * *","job":{"type":"t"}}""", "cron")]
    [InlineData("""{"name":"n","cron":"0 3 * * *","time_zone":"Mars/Olympus","job":{"type":"t"}}""", "time_zone")]
    [InlineData("""{"name":"n","interval_seconds":0,"job":{"type":"t"}}""", "interval_seconds")]
    [InlineData("""{"name":"n","cron":"0 3 * * *","interval_seconds":60,"job":{"type":"t"}}""", "interval_seconds")]
    [InlineData("""{"name":"n","interval_seconds":60,"job":{"type":""}}""", "job.type")]
    [InlineData("""{"name":"n","interval_seconds":60,"job":{"type":"t","max_attempts":0}}""", "job.max_attempts")]
    [InlineData("""{"name":"n","interval_seconds":60,"job":{"type":"t"},"misfire":"later"}""", "misfire")]
    [InlineData("""{"name":"n","interval_seconds":60,"job":{"type":"t"},"overlap":"queue"}""", "overlap")]
    [InlineData("""{"name":"n","interval_seconds":60,"job":{"type":"t"},"catch_up_limit":3}""", "catch_up_limit")]
    [InlineData("""{"name":"n","interval_seconds":60}""", "job")]
    [InlineData("""{"name":"n","interval_seconds":60,"job":{"type":"t"},"every":"day"}""", "every")]
    public async Task A_bad_schedule_is_400_naming_the_field_and_nothing_is_stored(string body, string field)
    {
        var before = (await Client.GetJsonAsync(Schedules)).GetProperty("items").GetArrayLength();
        using var response = await Client.PostJsonAsync(Schedules, body);
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        if (field == "cron" && body.Contains("25", StringComparison.Ordinal))
        {
            Assert.Contains("hour", problem.Str("detail"), StringComparison.Ordinal);
        }

        Assert.Equal(before, (await Client.GetJsonAsync(Schedules)).GetProperty("items").GetArrayLength());
    }

    private async Task<System.Text.Json.JsonElement> PostAsync(string path, HttpStatusCode expected)
    {
        using var response = await Client.PostAsync(path, null);
        return await Api.ExpectJsonAsync(response, expected);
    }

    private const System.Text.Json.JsonValueKind JsonNull = System.Text.Json.JsonValueKind.Null;

    private static System.Text.Json.JsonValueKind Kind(System.Text.Json.JsonElement e, string name) => e.GetProperty(name).ValueKind;
}
