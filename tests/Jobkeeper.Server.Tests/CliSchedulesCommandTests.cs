using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary><c>jobkeeper schedules …</c> run as a real process against a real server; every change checked through the API.</summary>
public sealed class CliSchedulesCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    private string Url => fixture.Server.BaseAddress.ToString().TrimEnd('/');

    private Task<CliResult> Schedules(params string[] args) => CliRunner.RunAsync(["schedules", .. args, "--server", Url]);

    private static void Ok(CliResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    [Fact]
    public async Task Create_list_set_pause_trigger_resume_and_delete_a_schedule()
    {
        var name = $"cli-{Guid.NewGuid():N}";
        var created = await Schedules("create", name, "--type", "cli.report", "--cron", "0 3 * * *", "--time-zone", "Europe/Berlin",
            "--input", """{"kind":"daily"}""", "--overlap", "skip");
        Ok(created);
        Assert.Contains("cron '0 3 * * *' Europe/Berlin", created.Stdout, StringComparison.Ordinal);
        var stored = await Client.GetJsonAsync("/api/v1/schedules/" + name);
        Assert.Equal(("cli.report", "daily", "skip"), (stored.GetProperty("job").Str("type"), stored.GetProperty("job").GetProperty("input").Str("kind"), stored.Str("overlap")));

        var list = await Schedules("list");
        Ok(list);
        Assert.Contains(name, list.Stdout, StringComparison.Ordinal);

        Ok(await Schedules("set", name, "--every", "600", "--misfire", "catch_up", "--catch-up-limit", "2"));
        var changed = await Client.GetJsonAsync("/api/v1/schedules/" + name);
        Assert.Equal((600, "catch_up", 2), (changed.GetProperty("interval_seconds").GetInt32(), changed.Str("misfire"), changed.GetProperty("catch_up_limit").GetInt32()));

        Ok(await Schedules("pause", name));
        Assert.True((await Client.GetJsonAsync("/api/v1/schedules/" + name)).GetProperty("paused").GetBoolean());
        var trigger = await Schedules("trigger", name);
        Ok(trigger);
        var jobId = trigger.Stdout.Trim().Split(' ')[^1];
        Assert.Equal(name, (await Client.GetJobAsync(jobId)).GetProperty("labels").Str("schedule"));
        Ok(await Schedules("resume", name));
        Assert.False((await Client.GetJsonAsync("/api/v1/schedules/" + name)).GetProperty("paused").GetBoolean());

        var bad = await Schedules("create", name + "-bad", "--type", "t", "--cron", "0 3 * *");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("cron", bad.Stderr, StringComparison.Ordinal);

        Ok(await Schedules("delete", name));
        var gone = await Schedules("get", name);
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains("404", gone.Stderr, StringComparison.Ordinal);
    }
}
