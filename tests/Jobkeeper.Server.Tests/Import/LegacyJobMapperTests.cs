using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Server.Import;

namespace Jobkeeper.Server.Tests.Import;

/// <summary>The pure mapping of legacy job dictionaries onto Jobkeeper jobs, field by field.</summary>
public sealed class LegacyJobMapperTests
{
    private static readonly DateTimeOffset Now = new(2026, 2, 1, 12, 0, 0, TimeSpan.Zero);

    private static LegacyRecord Map(string json, string? key = "job-1", string type = "legacy")
    {
        using var doc = JsonDocument.Parse(json);
        return LegacyJobMapper.MapRecord(key, doc.RootElement, type, Now);
    }

    private static Job MapJob(string json, string? key = "job-1", string type = "legacy")
    {
        var record = Map(json, key, type);
        Assert.True(record.Job is not null, $"skipped: {record.SkipReason}");
        return record.Job;
    }

    [Theory]
    [InlineData("pending", JobStatus.Queued)]
    [InlineData("queued", JobStatus.Queued)]
    [InlineData("complete", JobStatus.Completed)]
    [InlineData("completed", JobStatus.Completed)]
    [InlineData("done", JobStatus.Completed)]
    [InlineData("COMPLETE", JobStatus.Completed)]
    [InlineData("JobStatus.COMPLETE", JobStatus.Completed)]
    [InlineData("error", JobStatus.Failed)]
    [InlineData("failed", JobStatus.Failed)]
    [InlineData("cancelled", JobStatus.Cancelled)]
    [InlineData("canceled", JobStatus.Cancelled)]
    public void Statuses_map_onto_jobkeeper_statuses(string legacy, JobStatus expected)
    {
        var job = MapJob($$"""{"status":"{{legacy}}"}""");
        Assert.Equal(expected, job.Status);
        Assert.Equal(legacy, job.Labels["legacy_status"]);
        Assert.Equal(expected.IsTerminal(), job.CompletedAt is not null);
    }

    [Theory]
    [InlineData("processing")]
    [InlineData("running")]
    [InlineData("in_progress")]
    [InlineData("in-progress")]
    [InlineData("pending_hitl")]
    public void Running_and_waiting_jobs_are_imported_failed_as_interrupted_by_migration(string legacy)
    {
        var job = MapJob($$"""{"status":"{{legacy}}","updated_at":"2026-01-05T10:00:00Z","error":"partial"}""");
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(LegacyJobMapper.InterruptedCode, job.Error!.Code);
        Assert.Contains("interrupted by migration", job.Error.Message, StringComparison.Ordinal);
        Assert.Equal("partial", job.Error.Details!.Value.GetString());
        Assert.Equal(DateTimeOffset.Parse("2026-01-05T10:00:00Z"), job.CompletedAt);
        Assert.Null(job.LeaseOwner);
    }

    [Theory]
    [InlineData("50.0", 0.5)]
    [InlineData("50", 0.5)]
    [InlineData("100", 1.0)]
    [InlineData("12.5", 0.125)]
    [InlineData("0.35", 0.35)]
    [InlineData("1.0", 1.0)]
    [InlineData("0", 0.0)]
    [InlineData("\"75%\"", 0.75)]
    [InlineData("250", 1.0)]
    public void Progress_as_percent_or_fraction_becomes_a_fraction(string progress, double fraction)
    {
        var job = MapJob($$"""{"status":"queued","progress":{{progress}}}""");
        Assert.Equal(fraction, job.Progress!.Fraction!.Value, 6);
    }

    [Fact]
    public void Explicit_percent_fields_and_progress_objects_are_read()
    {
        Assert.Equal(0.005, MapJob("""{"status":"queued","progress_percent":0.5}""").Progress!.Fraction!.Value, 6);
        var job = MapJob("""{"status":"queued","progress":{"fraction":0.4,"stage":"render","message":"frame 40","current":40,"total":100,"eta":12}}""");
        Assert.Equal(new JobProgress { Fraction = 0.4, Stage = "render", Message = "frame 40", Current = 40, Total = 100 }, job.Progress);
        Assert.Equal(12, job.Input!.Value.GetProperty("progress_eta").GetInt32());
        var staged = MapJob("""{"status":"queued","progress":30,"current_stage":"tts","progress_message":"voice 2 of 5"}""");
        Assert.Equal(new JobProgress { Fraction = 0.3, Stage = "tts", Message = "voice 2 of 5" }, staged.Progress);
    }

    [Fact]
    public void Timestamps_in_epoch_seconds_milliseconds_and_iso_are_read()
    {
        var job = MapJob("""
            {"status":"completed","created_at":1768900000.25,"started_at":"1768900005","updated_at":"2026-01-20T10:10:45.5+01:00",
             "completed_at":1768900100123}
            """);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768900000250), job.CreatedAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1768900005), job.StartedAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768900100123), job.CompletedAt);
        Assert.Equal(new DateTimeOffset(2026, 1, 20, 9, 10, 45, 500, TimeSpan.Zero), job.UpdatedAt);
        Assert.Equal(job.CreatedAt, job.RunAt);

        var naive = MapJob("""{"status":"queued","created":"2026-01-18T14:05:30.250000"}""");
        Assert.Equal(new DateTimeOffset(2026, 1, 18, 14, 5, 30, 250, TimeSpan.Zero), naive.CreatedAt);
        Assert.Equal(naive.CreatedAt, naive.UpdatedAt);

        var variants = MapJob("""{"status":"done","timestamp":1768744999000,"start_time":1768745000123,"end_time":1768745321456}""");
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768744999000), variants.CreatedAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768745000123), variants.StartedAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1768745321456), variants.CompletedAt);
        Assert.Equal(variants.CompletedAt, variants.UpdatedAt);
    }

    [Fact]
    public void Without_timestamps_the_job_is_dated_at_the_import()
    {
        var job = MapJob("""{"status":"queued"}""");
        Assert.Equal(Now, job.CreatedAt);
        Assert.Equal(Now, job.UpdatedAt);
    }

    [Fact]
    public void An_unreadable_timestamp_is_kept_as_an_unknown_field()
    {
        var record = Map("""{"status":"queued","created_at":"yesterday"}""");
        Assert.Equal("yesterday", record.Job!.Input!.Value.GetProperty("created_at").GetString());
        Assert.Contains(record.Notes, n => n.Contains("created_at", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_fields_are_the_input_and_relations_are_labels_as_well()
    {
        var longText = new string('x', 300);
        var job = MapJob($$"""
            {"status":"queued","input":{"file":"a.wav"},"user_id":"u-1","seriesId":"s-7","owner":"ops","sample_rate":44100,"hd":true,
             "hitl_data":{"question":"ok?"},"notes":"{{longText}}","song_map_path":null,"file":"dup","a:b":"colon","content":"Hello"}
            """);
        var input = job.Input!.Value;
        Assert.Equal("a.wav", input.GetProperty("file").GetString());
        Assert.Equal("dup", input.GetProperty("legacy_file").GetString());
        Assert.Equal("Hello", input.GetProperty("content").GetString());
        Assert.Equal(44100, input.GetProperty("sample_rate").GetInt32());
        Assert.True(input.GetProperty("hd").GetBoolean());
        Assert.Equal("colon", input.GetProperty("a:b").GetString());
        Assert.Equal("ok?", input.GetProperty("hitl_data").GetProperty("question").GetString());
        Assert.Equal(longText, input.GetProperty("notes").GetString());
        Assert.Equal(JsonValueKind.Null, input.GetProperty("song_map_path").ValueKind);
        Assert.Equal("u-1", input.GetProperty("user_id").GetString());

        // Relations are the filters: also labels. Parameters are not.
        Assert.Equal(new Dictionary<string, string> { ["legacy_status"] = "queued", ["user_id"] = "u-1", ["seriesId"] = "s-7", ["owner"] = "ops" },
            job.Labels);
        JobValidator.ValidateLabels(job.Labels.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
    }

    [Fact]
    public void A_video_job_keeps_its_parameters_in_input_and_its_episode_and_series_as_labels()
    {
        var job = MapJob("""
            {"job_id":"vid-1","job_type":"idea2video","mode":"cinematic","status":"processing","progress":50.0,
             "working_dir":".working_dir/vid-1","episode_id":"ep-101","series_id":"series-7","idea":"A cat learns to fly",
             "user_requirement":"3 scenes, under 60 seconds","style":"Pixar-like","current_stage":"storyboard"}
            """, key: "vid-1");
        Assert.Equal(JobStatus.Failed, job.Status);
        var input = job.Input!.Value;
        foreach (var (name, value) in new[] { ("mode", "cinematic"), ("working_dir", ".working_dir/vid-1"), ("idea", "A cat learns to fly"),
            ("user_requirement", "3 scenes, under 60 seconds"), ("style", "Pixar-like"), ("episode_id", "ep-101"), ("series_id", "series-7") })
        {
            Assert.Equal(value, input.GetProperty(name).GetString());
        }

        Assert.Equal(new Dictionary<string, string> { ["legacy_status"] = "processing", ["episode_id"] = "ep-101", ["series_id"] = "series-7" }, job.Labels);
    }

    [Fact]
    public void Legacy_labels_stay_labels()
    {
        var job = MapJob("""{"status":"queued","labels":{"team":"audio","nested":{"a":1}},"tags":{"x":"y"}}""");
        Assert.Equal("audio", job.Labels["team"]);
        Assert.False(job.Labels.ContainsKey("x")); // only the first of labels/tags is read
        Assert.Equal(1, job.Input!.Value.GetProperty("nested").GetProperty("a").GetInt32());
        Assert.False(job.Input.Value.TryGetProperty("team", out _));
    }

    [Fact]
    public void Input_that_is_not_an_object_is_kept_beside_the_unknown_fields()
    {
        var job = MapJob("""{"status":"queued","params":[1,2],"extra":{"a":1}}""");
        Assert.Equal("[1,2]", job.Input!.Value.GetProperty("input").GetRawText());
        Assert.Equal(1, job.Input.Value.GetProperty("extra").GetProperty("a").GetInt32());
        Assert.Equal("[1,2]", MapJob("""{"status":"queued","params":[1,2]}""").Input!.Value.GetRawText());
    }

    [Fact]
    public void Type_comes_from_type_kind_or_job_type_or_the_default()
    {
        Assert.Equal("idea2video", MapJob("""{"status":"queued","job_type":"idea2video"}""").Type);
        Assert.Equal("render", MapJob("""{"status":"queued","kind":"render"}""").Type);
        Assert.Equal("audio", MapJob("""{"status":"queued","type":"audio"}""").Type);
        Assert.Equal("fallback", MapJob("""{"status":"queued"}""", type: "fallback").Type);
    }

    [Fact]
    public void Results_and_errors_are_mapped()
    {
        var done = MapJob("""{"status":"complete","result_data":{"video":"a.mp4"}}""");
        Assert.Equal("a.mp4", done.Result!.Value.GetProperty("video").GetString());
        Assert.Null(done.Error);

        var failed = MapJob("""{"status":"error","error_message":"decode failed"}""");
        Assert.Equal(new JobError { Message = "decode failed" }, failed.Error);

        var structured = MapJob("""{"status":"failed","error":{"message":"quota","code":"tts_quota"}}""");
        Assert.Equal("quota", structured.Error!.Message);
        Assert.Equal("tts_quota", structured.Error.Code);

        var silent = MapJob("""{"status":"failed"}""");
        Assert.Equal("legacy_failed", silent.Error!.Code);

        var warned = MapJob("""{"status":"completed","error_message":"slow disk"}""");
        Assert.Null(warned.Error);
        Assert.Equal("slow disk", warned.Input!.Value.GetProperty("error_message").GetString());
    }

    [Fact]
    public void Ids_come_from_the_dictionary_key_or_an_id_field()
    {
        Assert.Equal("k-1", MapJob("""{"status":"queued","job_id":"k-1"}""", key: "k-1").Id);
        Assert.Equal("inner", MapJob("""{"status":"queued","job_id":"inner"}""", key: null).Id);
        Assert.Equal("plain", MapJob("""{"status":"queued","id":"plain"}""", key: null).Id);
        Assert.Equal("42", MapJob("""{"status":"queued","id":42}""", key: null).Id);
    }

    [Theory]
    [InlineData(null, """{"status":"queued"}""", "no id")]
    [InlineData("bad id!", """{"status":"queued"}""", "not a valid job id")]
    [InlineData("cleanup", """{"status":"queued"}""", "not a valid job id")]
    [InlineData("j", """{"progress":1}""", "no status")]
    [InlineData("j", """{"status":"exploded"}""", "unknown status 'exploded'")]
    [InlineData("j", """[1,2]""", "not a JSON object")]
    public void Records_that_cannot_be_jobs_are_skipped_with_a_reason(string? key, string json, string reason)
    {
        var record = Map(json, key);
        Assert.Null(record.Job);
        Assert.Contains(reason, record.SkipReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_document_is_a_dictionary_a_list_or_a_wrapped_list_and_duplicates_are_skipped()
    {
        using var dict = JsonDocument.Parse("""{"a":{"status":"queued"},"b":{"status":"done"}}""");
        Assert.Equal(["a", "b"], LegacyJobMapper.MapDocument(dict.RootElement, "t", Now).Select(r => r.Job!.Id));

        using var list = JsonDocument.Parse("""[{"job_id":"a","status":"queued"},{"job_id":"a","status":"done"}]""");
        var records = LegacyJobMapper.MapDocument(list.RootElement, "t", Now);
        Assert.NotNull(records[0].Job);
        Assert.Null(records[1].Job);
        Assert.Contains("duplicate", records[1].SkipReason, StringComparison.Ordinal);

        using var wrapped = JsonDocument.Parse("""{"jobs":[{"id":"x","status":"queued"}]}""");
        Assert.Equal("x", Assert.Single(LegacyJobMapper.MapDocument(wrapped.RootElement, "t", Now)).Id);

        using var scalar = JsonDocument.Parse("3");
        Assert.Throws<FormatException>(() => LegacyJobMapper.MapDocument(scalar.RootElement, "t", Now));
    }

    [Fact]
    public void The_mapped_job_outlives_the_document_it_came_from()
    {
        Job job;
        using (var doc = JsonDocument.Parse("""{"status":"done","result":{"n":1},"extra":[1]}"""))
        {
            job = LegacyJobMapper.MapRecord("k", doc.RootElement, "t", Now).Job!;
        }

        Assert.Equal(1, job.Result!.Value.GetProperty("n").GetInt32());
        Assert.Equal("[1]", job.Input!.Value.GetProperty("extra").GetRawText());
    }
}
