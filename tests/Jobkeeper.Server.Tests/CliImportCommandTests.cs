using System.Globalization;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// <c>jobkeeper import FILE</c> with the legacy files of the three original systems (Fixtures/): each imported twice into
/// a fresh SQLite database (the second run imports nothing and skips every job), once through a running server, and
/// the mapped jobs read back through the API of a server on that database.
/// </summary>
public sealed class CliImportCommandTests
{
    public const string Skills = "skills-service-jobs.json";
    public const string Audio = "audio-analysis-jobs.json";
    public const string Video = "video-generation-jobs.json";

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    private static string DefaultType(string fixture) => fixture switch
    {
        Skills => "skill-creation",
        Audio => "audio-analysis",
        _ => "video-pipeline",
    };

    private static void Ok(CliResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private static DateTimeOffset Time(JsonElement job, string name) =>
        DateTimeOffset.Parse(job.Str(name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static string Label(JsonElement job, string name) => job.GetProperty("labels").Str(name);

    private static JsonElement Input(JsonElement job, string name) => job.GetProperty("input").GetProperty(name);

    private static void NoLabel(JsonElement job, string name) =>
        Assert.False(job.GetProperty("labels").TryGetProperty(name, out _), $"'{name}' is a label: {job.GetProperty("labels")}");

    private static double Fraction(JsonElement job) => job.GetProperty("progress").GetProperty("fraction").GetDouble();

    [Theory]
    [InlineData(Skills, 12, 0)]
    [InlineData(Audio, 12, 1)]
    [InlineData(Video, 12, 0)]
    public async Task Each_legacy_file_imports_once_and_a_second_run_skips_every_job(string fixture, int jobs, int invalid)
    {
        using var dir = new TempDirectory("jobkeeper-import");
        var db = dir.File("jobkeeper.db");

        var first = await CliRunner.RunAsync("import", Fixture(fixture), "--db", db, "--type", DefaultType(fixture));
        Ok(first);
        Assert.Contains($"imported {jobs}, skipped {invalid}, failed 0", first.Stdout, StringComparison.Ordinal);

        var second = await CliRunner.RunAsync("import", Fixture(fixture), "--db", db, "--type", DefaultType(fixture));
        Ok(second);
        Assert.Contains($"imported 0, skipped {jobs + invalid}, failed 0", second.Stdout, StringComparison.Ordinal);
        Assert.Equal(jobs, second.Stdout.Split('\n').Count(l => l.Contains(": a job with this id exists already", StringComparison.Ordinal)));

        await using var server = await ServerProcess.StartAsync(db);
        Assert.Equal(jobs, await server.Client.JobsCountAsync());
        await CheckMappedAsync(fixture, server.Client, throughServer: false);
    }

    [Fact]
    public async Task A_legacy_file_imports_into_postgresql_twice()
    {
        await using var database = await Jobkeeper.Postgres.Tests.TestDatabase.CreateAsync();
        var first = await CliRunner.RunAsync("import", Fixture(Audio), "--postgres", database.ConnectionString, "--type", DefaultType(Audio));
        Ok(first);
        Assert.Contains("imported 12, skipped 1, failed 0", first.Stdout, StringComparison.Ordinal);
        var second = await CliRunner.RunAsync("import", Fixture(Audio), "--postgres", database.ConnectionString, "--type", DefaultType(Audio));
        Ok(second);
        Assert.Contains("imported 0, skipped 13, failed 0", second.Stdout, StringComparison.Ordinal);

        await using var server = await ServerProcess.StartAsync(environment: new Dictionary<string, string> { ["JOBKEEPER__POSTGRES"] = database.ConnectionString });
        Assert.Equal(12, await server.Client.JobsCountAsync());
        await CheckAudioAsync(server.Client);
    }

    [Fact]
    public async Task Records_that_cannot_be_imported_are_reported_with_their_reason()
    {
        using var dir = new TempDirectory("jobkeeper-import");
        var result = await CliRunner.RunAsync("import", Fixture(Audio), "--db", dir.File("jobkeeper.db"));
        Ok(result);
        Assert.Contains("(no id): no id", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("audio_002: was 'processing': imported as failed (interrupted_by_migration)", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dry_run_reports_and_writes_nothing()
    {
        using var dir = new TempDirectory("jobkeeper-import");
        var db = dir.File("jobkeeper.db");
        var dry = await CliRunner.RunAsync("import", Fixture(Video), "--db", db, "--dry-run");
        Ok(dry);
        Assert.Contains("would import 12, skipped 0, failed 0", dry.Stdout, StringComparison.Ordinal);

        var real = await CliRunner.RunAsync("import", Fixture(Video), "--db", db);
        Ok(real);
        Assert.Contains("imported 12, skipped 0, failed 0", real.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_through_a_running_server_twice()
    {
        await using var server = await ServerProcess.StartAsync();
        var url = server.BaseAddress.ToString();
        var first = await CliRunner.RunAsync("import", Fixture(Video), "--server", url, "--type", DefaultType(Video));
        Ok(first);
        Assert.Contains("imported 12, skipped 0, failed 0", first.Stdout, StringComparison.Ordinal);

        var second = await CliRunner.RunAsync("import", Fixture(Video), "--server", url, "--type", DefaultType(Video));
        Ok(second);
        Assert.Contains("imported 0, skipped 12, failed 0", second.Stdout, StringComparison.Ordinal);
        Assert.Equal(12, await server.Client.JobsCountAsync());
        await CheckMappedAsync(Video, server.Client, throughServer: true);
    }

    [Fact]
    public async Task An_imported_interrupted_job_retried_runs_with_its_legacy_parameters_as_input()
    {
        using var dir = new TempDirectory("jobkeeper-import");
        var db = dir.File("jobkeeper.db");
        Ok(await CliRunner.RunAsync("import", Fixture(Video), "--db", db, "--type", DefaultType(Video)));

        await using var server = await ServerProcess.StartAsync(db);
        var interrupted = await server.Client.GetJobAsync("vid-idea-0002");
        Assert.Equal("interrupted_by_migration", interrupted.GetProperty("error").Str("code"));
        Assert.Contains("retry it", interrupted.GetProperty("error").Str("message"), StringComparison.Ordinal);

        var retried = await CliRunner.RunAsync("jobs", "retry", "vid-idea-0002", "--server", server.BaseAddress.ToString());
        Ok(retried);
        Assert.Contains("queued again: vid-idea-0002", retried.Stdout, StringComparison.Ordinal);

        // The worker that claims it gets what the legacy job was asked to do.
        var claimed = await server.Client.ClaimAsync("w-legacy", "idea2video", 20, 60, 0);
        var item = Assert.Single(claimed, j => j.Str("id") == "vid-idea-0002");
        Assert.Equal(2, item.GetProperty("attempt").GetInt32());
        var input = item.GetProperty("input");
        Assert.Equal("A cat learns to fly", input.Str("idea"));
        Assert.Equal("Pixar-like", input.Str("style"));
        Assert.Equal("3 scenes, under 60 seconds", input.Str("user_requirement"));
        Assert.Equal("cinematic", input.Str("mode"));
        Assert.Equal(".working_dir/vid-idea-0002", input.Str("working_dir"));
        Assert.Equal("ep-101", input.Str("episode_id"));
        Assert.Equal("series-7", input.Str("series_id"));
        Assert.Equal("ep-101", item.GetProperty("labels").Str("episode_id"));

        // And a list by episode still finds it.
        var byEpisode = await server.Client.GetJsonAsync($"{Api.Jobs}?label=episode_id:ep-101");
        Assert.Equal("vid-idea-0002", Assert.Single(byEpisode.GetProperty("items").EnumerateArray()).Str("id"));
    }

    [Fact]
    public async Task Unreadable_files_and_stores_are_a_clear_error()
    {
        using var dir = new TempDirectory("jobkeeper-import");
        var bad = dir.File("bad.json");
        await File.WriteAllTextAsync(bad, "{ not json");
        var result = await CliRunner.RunAsync("import", bad, "--db", dir.File("jobkeeper.db"));
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("cannot read", result.Stderr, StringComparison.Ordinal);

        var both = await CliRunner.RunAsync("import", Fixture(Video), "--db", dir.File("x.db"), "--server", "http://127.0.0.1:1");
        Assert.True(both.ExitCode == 1, both.ToString());
        Assert.Contains("one of --db, --postgres, --server", both.Stderr, StringComparison.Ordinal);
    }

    private static Task CheckMappedAsync(string fixture, HttpClient client, bool throughServer) => fixture switch
    {
        Skills => CheckSkillsAsync(client),
        Audio => CheckAudioAsync(client),
        _ => CheckVideoAsync(client, throughServer),
    };

    private static async Task CheckSkillsAsync(HttpClient client)
    {
        var queued = await client.GetJobAsync("0b6f1c2e-3a41-4d2f-9a57-1f2d3c4b5a01");
        Assert.Equal("queued", queued.Str("status"));
        Assert.Equal("skill-creation", queued.Str("type"));
        Assert.Equal("pending", Label(queued, "legacy_status"));
        Assert.Equal("u-alice", Label(queued, "user_id"));
        Assert.Equal("u-alice", Input(queued, "user_id").GetString());
        Assert.Equal("Create a skill for parsing invoices", Input(queued, "task_description").GetString());
        NoLabel(queued, "task_description");
        Assert.Equal(DateTimeOffset.Parse("2026-01-20T09:10:00.123456Z", CultureInfo.InvariantCulture), Time(queued, "created_at"));
        Assert.Equal(DateTimeOffset.Parse("2026-01-20T09:10:45.5Z", CultureInfo.InvariantCulture), Time(queued, "updated_at"));
        Assert.Equal(JsonValueKind.Object, queued.GetProperty("input").GetProperty("deep_understanding").ValueKind);

        var running = await client.GetJobAsync("0b6f1c2e-3a41-4d2f-9a57-1f2d3c4b5a02");
        Assert.Equal("failed", running.Str("status"));
        Assert.Equal("interrupted_by_migration", running.GetProperty("error").Str("code"));
        Assert.Equal(0.35, Fraction(running), 6);
        Assert.Equal("Drafting SKILL.md", running.GetProperty("progress").Str("message"));
        Assert.Equal("generating", Input(running, "current_phase").GetString());
        Assert.Equal("Summarize meeting notes", Input(running, "task_description").GetString());
        Assert.Equal(Time(running, "updated_at"), Time(running, "completed_at"));

        var hitl = await client.GetJobAsync("0b6f1c2e-3a41-4d2f-9a57-1f2d3c4b5a03");
        Assert.Equal("failed", hitl.Str("status"));
        Assert.Equal("pending_hitl", Label(hitl, "legacy_status"));
        Assert.Equal("confirm", Input(hitl, "hitl_type").GetString());
        Assert.Equal("Does this structure look right?", hitl.GetProperty("input").GetProperty("hitl_data").Str("question"));

        var done = await client.GetJobAsync("0b6f1c2e-3a41-4d2f-9a57-1f2d3c4b5a04");
        Assert.Equal("completed", done.Str("status"));
        Assert.Equal(1.0, Fraction(done), 6);
        Assert.Equal("skills/general/skill-3", done.GetProperty("result").Str("skill_path"));
        Assert.Equal("skills/general/skill-3", Input(done, "saved_path").GetString());

        var failed = await client.GetJobAsync("0b6f1c2e-3a41-4d2f-9a57-1f2d3c4b5a06");
        Assert.Equal("failed", failed.Str("status"));
        Assert.Equal("ValidationError: frontmatter is missing 'name'", failed.GetProperty("error").Str("message"));

        Assert.Equal("cancelled", (await client.GetJobAsync("0b6f1c2e-3a41-4d2f-9a57-1f2d3c4b5a10")).Str("status"));
        await CheckCountsAsync(client, queued: 2, completed: 4, failed: 5, cancelled: 1);
    }

    private static async Task CheckAudioAsync(HttpClient client)
    {
        var created = DateTimeOffset.FromUnixTimeMilliseconds(1768900600250);
        var processing = await client.GetJobAsync("audio_002");
        Assert.Equal("failed", processing.Str("status"));
        Assert.Equal("audio-analysis", processing.Str("type"));
        Assert.Equal("interrupted_by_migration", processing.GetProperty("error").Str("code"));
        Assert.Equal(0.5, Fraction(processing), 6);
        Assert.Equal(created, Time(processing, "created_at"));
        Assert.Equal(created.AddSeconds(5), Time(processing, "started_at"));
        Assert.Equal("/uploads/track_002.wav", Input(processing, "input_file").GetString());
        Assert.Equal(181, Input(processing, "duration_seconds").GetInt32());
        Assert.Equal(44100, Input(processing, "sample_rate").GetInt32());
        Assert.Equal(JsonValueKind.Null, Input(processing, "song_map_path").ValueKind);
        NoLabel(processing, "input_file");

        var complete = await client.GetJobAsync("audio_003");
        Assert.Equal("completed", complete.Str("status"));
        Assert.Equal(1.0, Fraction(complete), 6);
        var created3 = DateTimeOffset.FromUnixTimeMilliseconds(1768901200250);
        Assert.Equal(created3, Time(complete, "created_at"));
        Assert.Equal(created3.AddSeconds(95.5), Time(complete, "completed_at"));
        Assert.Equal("/results/track_003.songmap.json", Input(complete, "song_map_path").GetString());

        var error = await client.GetJobAsync("audio_005");
        Assert.Equal("failed", error.Str("status"));
        Assert.Equal("librosa: could not decode audio (unsupported codec)", error.GetProperty("error").Str("message"));
        Assert.Equal(0.3, Fraction(error), 6);

        var enumName = await client.GetJobAsync("audio_012");
        Assert.Equal("completed", enumName.Str("status"));
        Assert.Equal("JobStatus.COMPLETE", Label(enumName, "legacy_status"));

        Assert.Equal(0.125, Fraction(await client.GetJobAsync("audio_007")), 6);
        await CheckCountsAsync(client, queued: 2, completed: 6, failed: 4, cancelled: 0);
    }

    private static async Task CheckVideoAsync(HttpClient client, bool throughServer)
    {
        var processing = await client.GetJobAsync("vid-idea-0002");
        Assert.Equal("failed", processing.Str("status"));
        Assert.Equal("idea2video", processing.Str("type"));
        Assert.Equal("interrupted_by_migration", processing.GetProperty("error").Str("code"));
        Assert.Equal(0.5, Fraction(processing), 6);
        Assert.Equal("storyboard", processing.GetProperty("progress").Str("stage"));
        Assert.Equal("ep-101", Label(processing, "episode_id"));
        Assert.Equal("series-7", Label(processing, "series_id"));
        Assert.Equal("cinematic", Input(processing, "mode").GetString());
        Assert.Equal(".working_dir/vid-idea-0002", Input(processing, "working_dir").GetString());
        Assert.Equal("A cat learns to fly", Input(processing, "idea").GetString());
        Assert.Equal("ep-101", Input(processing, "episode_id").GetString());
        NoLabel(processing, "working_dir");

        var completed = await client.GetJobAsync("vid-idea-0003");
        Assert.Equal("completed", completed.Str("status"));
        Assert.Equal("outputs/vid-idea-0003/final.mp4", completed.GetProperty("result").Str("video_path"));
        Assert.Equal(1.0, Fraction(completed), 6);

        var script = await client.GetJobAsync("vid-script-0005");
        Assert.Equal("script2video", script.Str("type"));
        Assert.Equal(JsonValueKind.Null, script.GetProperty("input").GetProperty("idea").ValueKind);

        var pipeline = await client.GetJobAsync("pipe-0011");
        Assert.Equal("video-pipeline", pipeline.Str("type"));
        Assert.Equal("completed", pipeline.Str("status"));
        Assert.Equal("export", pipeline.GetProperty("progress").Str("stage"));
        Assert.Equal("INT. KITCHEN - DAY", Input(pipeline, "script").GetString());

        var pipelineError = await client.GetJobAsync("pipe-0012");
        Assert.Equal("failed", pipelineError.Str("status"));
        Assert.Equal("TTS quota exceeded", pipelineError.GetProperty("error").Str("message"));
        Assert.Equal("quota", pipelineError.GetProperty("error").Str("code"));
        Assert.Equal(0.4, Fraction(pipelineError), 6);

        if (throughServer)
        {
            // Over HTTP the server dates the job itself; the legacy times are kept as labels.
            Assert.Equal("2026-01-18T14:10:30.25Z", Label(completed, "legacy_created_at"));
            Assert.Equal("2026-01-18T14:13:00Z", Label(completed, "legacy_completed_at"));
            Assert.Equal("2026-01-18T14:10:31Z", Label(completed, "legacy_started_at"));
        }
        else
        {
            Assert.Equal(DateTimeOffset.Parse("2026-01-18T14:10:30.25Z", CultureInfo.InvariantCulture), Time(completed, "created_at"));
            Assert.Equal(DateTimeOffset.Parse("2026-01-18T14:10:31Z", CultureInfo.InvariantCulture), Time(completed, "started_at"));
            Assert.Equal(DateTimeOffset.Parse("2026-01-18T14:13:00Z", CultureInfo.InvariantCulture), Time(completed, "completed_at"));
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768744999000), Time(pipeline, "created_at"));
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768745000123), Time(pipeline, "started_at"));
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768745321456), Time(pipeline, "completed_at"));
        }

        await CheckCountsAsync(client, queued: 2, completed: 4, failed: 5, cancelled: 1);
    }

    private static async Task CheckCountsAsync(HttpClient client, int queued, int completed, int failed, int cancelled)
    {
        foreach (var (status, expected) in new[] { ("queued", queued), ("completed", completed), ("failed", failed), ("cancelled", cancelled), ("running", 0), ("waiting", 0) })
        {
            var page = await client.GetJsonAsync($"{Api.Jobs}?status={status}&limit=100");
            Assert.True(page.GetProperty("items").GetArrayLength() == expected, $"{status}: expected {expected}, got {page}");
        }
    }
}
