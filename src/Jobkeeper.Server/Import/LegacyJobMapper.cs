using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Model;

namespace Jobkeeper.Server.Import;

/// <summary>One legacy record: the job it maps to, or why it was skipped, and what the mapping had to decide.</summary>
internal sealed record LegacyRecord(string? Id, Job? Job, string? SkipReason, string? LegacyStatus, IReadOnlyList<string> Notes);

/// <summary>
/// Maps the job dictionaries the original apps kept in memory or dumped to JSON onto Jobkeeper jobs. Pure: no I/O,
/// no clock (the import time is given), so the same file always maps to the same jobs.
/// Accepts <c>{"&lt;id&gt;": {...}, ...}</c>, a list of objects with an id field, or either wrapped in
/// <c>{"jobs": ...}</c>. Legacy jobs that were running (or waiting on a human) when exported are imported
/// <c>failed</c> with error code <see cref="InterruptedCode"/>: their worker and prompt are gone, so they
/// could never finish by themselves; <c>jobs retry</c> queues them again. A retried job runs on its <c>input</c>, so
/// every legacy field that is not a job field (<c>content</c>, <c>style</c>, <c>working_dir</c>…) is kept there;
/// relations (<c>*_id</c>, the user) are labels as well, for filtering.
/// </summary>
internal static class LegacyJobMapper
{
    public const string InterruptedCode = "interrupted_by_migration";
    public const string DefaultType = "legacy";
    public const int MaxLabelScalarLength = 200;

    private static readonly string[] IdFields = ["id", "job_id", "jobId", "task_id", "uuid"];
    private static readonly string[] StatusFields = ["status", "state", "job_status"];
    private static readonly string[] TypeFields = ["type", "job_type", "jobType", "kind", "task_type"];
    private static readonly string[] ProgressFields = ["progress", "progress_value"];
    private static readonly string[] PercentFields = ["progress_percent", "percent", "percentage", "progress_pct"];
    private static readonly string[] FractionFields = ["fraction", "progress_fraction"];
    private static readonly string[] StageFields = ["stage", "current_stage", "step", "phase"];
    private static readonly string[] MessageFields = ["progress_message", "message", "status_message"];
    private static readonly string[] CurrentFields = ["current", "current_step", "completed_steps"];
    private static readonly string[] TotalFields = ["total", "total_steps"];
    private static readonly string[] ResultFields = ["result", "result_data", "results", "output"];
    private static readonly string[] ErrorFields = ["error", "error_message", "errorMessage", "exception", "failure_reason"];
    private static readonly string[] InputFields = ["input", "params", "parameters", "payload", "request"];
    private static readonly string[] CreatedFields = ["created_at", "createdAt", "created", "timestamp", "submitted_at", "create_time", "creation_time"];
    private static readonly string[] UpdatedFields = ["updated_at", "updatedAt", "updated", "last_updated", "modified_at", "update_time"];
    private static readonly string[] StartedFields = ["started_at", "startedAt", "start_time", "started"];
    private static readonly string[] CompletedFields = ["completed_at", "completedAt", "finished_at", "end_time", "ended_at", "finish_time", "completed"];
    private static readonly string[] PriorityFields = ["priority"];
    private static readonly string[] AttemptFields = ["attempt", "attempts"];
    private static readonly string[] MaxAttemptFields = ["max_attempts"];
    private static readonly string[] LabelFields = ["labels", "tags"];
    private static readonly HashSet<string> RelationFields = new(["user", "username", "user_name", "owner", "tenant"], StringComparer.Ordinal);

    /// <summary>Legacy status names (lower case, '-' and ' ' as '_') and what they become; null = interrupted.</summary>
    private static readonly Dictionary<string, JobStatus?> Statuses = new(StringComparer.Ordinal)
    {
        ["pending"] = JobStatus.Queued, ["queued"] = JobStatus.Queued, ["created"] = JobStatus.Queued,
        ["submitted"] = JobStatus.Queued, ["scheduled"] = JobStatus.Queued, ["new"] = JobStatus.Queued,
        ["processing"] = null, ["running"] = null, ["in_progress"] = null, ["started"] = null, ["active"] = null,
        ["waiting"] = null, ["pending_hitl"] = null, ["hitl_pending"] = null, ["awaiting_input"] = null,
        ["waiting_for_input"] = null, ["pending_user_input"] = null, ["paused"] = null,
        ["complete"] = JobStatus.Completed, ["completed"] = JobStatus.Completed, ["done"] = JobStatus.Completed,
        ["success"] = JobStatus.Completed, ["succeeded"] = JobStatus.Completed, ["finished"] = JobStatus.Completed,
        ["error"] = JobStatus.Failed, ["failed"] = JobStatus.Failed, ["failure"] = JobStatus.Failed, ["errored"] = JobStatus.Failed,
        ["cancelled"] = JobStatus.Cancelled, ["canceled"] = JobStatus.Cancelled, ["aborted"] = JobStatus.Cancelled,
    };

    /// <summary>Maps a whole legacy document; records come out in file order, duplicates of an earlier id skipped.</summary>
    public static IReadOnlyList<LegacyRecord> MapDocument(JsonElement root, string defaultType, DateTimeOffset now)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("jobs", out var wrapped)
            && wrapped.ValueKind is JsonValueKind.Object or JsonValueKind.Array && root.EnumerateObject().Count() == 1)
        {
            root = wrapped;
        }

        var records = new List<LegacyRecord>();
        switch (root.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var entry in root.EnumerateObject())
                {
                    records.Add(MapRecord(entry.Name, entry.Value, defaultType, now));
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in root.EnumerateArray())
                {
                    records.Add(MapRecord(null, item, defaultType, now));
                }

                break;
            default:
                throw new FormatException("A legacy file must be a JSON object keyed by job id or a JSON array of job objects.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i] is { Job: not null, Id: { } id } && !seen.Add(id))
            {
                records[i] = records[i] with { Job = null, SkipReason = "duplicate id in the file (the first one is imported)" };
            }
        }

        return records;
    }

    /// <summary>Maps one legacy job object; <paramref name="key"/> is its dictionary key when the file is keyed by id.</summary>
    public static LegacyRecord MapRecord(string? key, JsonElement value, string defaultType, DateTimeOffset now)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return Skip(key, null, $"not a JSON object (a {value.ValueKind.ToString().ToLowerInvariant()})");
        }

        // Detached from the caller's document: the job keeps parts of it (input, result, error details).
        value = value.Clone();
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            fields[property.Name] = property.Value;
        }

        var notes = new List<string>();
        var innerId = TakeString(fields, IdFields);
        var id = key ?? innerId;
        if (id is null)
        {
            return Skip(null, null, $"no id (neither a dictionary key nor one of {string.Join(", ", IdFields)})");
        }

        if (!JobIds.IsValid(id) || JobIds.IsReserved(id))
        {
            return Skip(id, null, $"id '{Trim(id)}' is not a valid job id (1–{JobIds.MaxLength} characters of A-Z a-z 0-9 . _ : -)");
        }

        if (key is not null && innerId is not null && innerId != key)
        {
            notes.Add($"inner id '{Trim(innerId)}' differs from its key; the key is kept");
        }

        var legacyStatus = TakeString(fields, StatusFields);
        if (legacyStatus is null)
        {
            return Skip(id, null, "no status field");
        }

        var normalized = NormalizeStatus(legacyStatus);
        if (!Statuses.TryGetValue(normalized, out var mapped))
        {
            return Skip(id, legacyStatus, $"unknown status '{Trim(legacyStatus)}'");
        }

        var type = TakeString(fields, TypeFields) ?? defaultType;
        if (type.Length is 0 or > JobLimits.MaxTypeLength)
        {
            return Skip(id, legacyStatus, $"type must be 1–{JobLimits.MaxTypeLength} characters");
        }

        var unknown = new List<KeyValuePair<string, JsonElement>>();
        var created = TakeTime(fields, CreatedFields, unknown, notes);
        var updated = TakeTime(fields, UpdatedFields, unknown, notes);
        var started = TakeTime(fields, StartedFields, unknown, notes);
        var completed = TakeTime(fields, CompletedFields, unknown, notes);
        var known = new[] { created, updated, started, completed }.Where(t => t is not null).Select(t => t!.Value).ToList();
        var createdAt = created ?? (known.Count > 0 ? known.Min() : now);
        var updatedAt = updated ?? (known.Count > 0 ? known.Max() : createdAt);
        if (updatedAt < createdAt)
        {
            updatedAt = createdAt;
        }

        var progress = TakeProgress(fields, unknown, notes);
        var result = Take(fields, ResultFields);
        var errorName = ErrorFields.FirstOrDefault(fields.ContainsKey);
        var errorValue = Take(fields, ErrorFields);
        JobError? error = null;
        JobStatus status;
        if (mapped is { } s)
        {
            status = s;
        }
        else
        {
            status = JobStatus.Failed;
            error = new JobError
            {
                Message = $"interrupted by migration: the job was '{legacyStatus}' in the legacy system when it was exported; retry it to run it again",
                Code = InterruptedCode,
                Details = errorValue is { ValueKind: not JsonValueKind.Null } e ? e : null,
            };
            errorValue = null;
            notes.Add($"was '{legacyStatus}': imported as failed ({InterruptedCode})");
        }

        if (status == JobStatus.Failed && error is null)
        {
            error = ToError(errorValue) ?? new JobError { Message = "failed in the legacy system (no error was recorded)", Code = "legacy_failed" };
            errorValue = null;
        }

        if (errorValue is { ValueKind: not JsonValueKind.Null } keptError)
        {
            // An error recorded on a job that did not fail (e.g. a warning) is kept under its own name.
            unknown.Add(new(errorName!, keptError));
        }

        if (status.IsTerminal())
        {
            completed ??= updatedAt;
        }
        else
        {
            completed = null;
        }

        if (completed is { } c && c > updatedAt)
        {
            updatedAt = c;
        }

        var priority = TakeInt(fields, PriorityFields, unknown) ?? 0;
        var attempt = Math.Max(1, TakeInt(fields, AttemptFields, unknown) ?? 1);
        var maxAttempts = Math.Clamp(TakeInt(fields, MaxAttemptFields, unknown) ?? 3, 1, JobLimits.MaxAttempts);
        var input = Take(fields, InputFields);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["legacy_status"] = Trim(legacyStatus, MaxLabelScalarLength) };
        var extra = new List<KeyValuePair<string, JsonElement>>();
        if (Take(fields, LabelFields) is { } legacyLabels)
        {
            // Labels in the legacy system stay labels; what cannot be one is kept in input.
            foreach (var (name, field) in legacyLabels.ValueKind == JsonValueKind.Object
                ? legacyLabels.EnumerateObject().Select(p => new KeyValuePair<string, JsonElement>(p.Name, p.Value))
                : [new("labels", legacyLabels)])
            {
                if (!TryLabel(labels, name, field))
                {
                    extra.Add(new(name, field));
                }
            }
        }

        // Every other field was a parameter of the job: it goes into input, where a handler (and a retry) finds it.
        // A relation (a *_id field, the user or owner) is also kept as a label, to list the jobs of an episode or a user.
        unknown.AddRange(fields);
        foreach (var (name, field) in unknown)
        {
            extra.Add(new(name, field));
            if (IsRelation(name))
            {
                TryLabel(labels, name, field);
            }
        }

        var job = new Job
        {
            Id = id,
            Type = type,
            Status = status,
            Priority = priority,
            Input = BuildInput(input, extra),
            Labels = labels,
            Progress = progress,
            Result = result is { ValueKind: not JsonValueKind.Null } r ? r : null,
            Error = error,
            Attempt = attempt,
            MaxAttempts = Math.Max(maxAttempts, attempt),
            CreatedAt = createdAt,
            UpdatedAt = updatedAt,
            StartedAt = started,
            CompletedAt = completed,
            RunAt = createdAt,
            Version = 1,
        };
        return new LegacyRecord(id, job, null, legacyStatus, notes);
    }

    /// <summary>"Complete", "JobStatus.COMPLETE", "in-progress" → "complete", "complete", "in_progress".</summary>
    public static string NormalizeStatus(string status)
    {
        var s = status.Trim();
        var dot = s.LastIndexOf('.');
        if (dot >= 0 && dot < s.Length - 1)
        {
            s = s[(dot + 1)..];
        }

        return s.ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
    }

    /// <summary>A progress number as a fraction: above 1 it is a percent (50 → 0.5), otherwise already a fraction.</summary>
    public static double? ProgressFraction(double value, bool percent, List<string>? notes = null)
    {
        if (double.IsNaN(value) || double.IsInfinity(value) || value < 0)
        {
            notes?.Add($"progress {value.ToString(CultureInfo.InvariantCulture)} is not a valid amount; dropped");
            return null;
        }

        var fraction = percent || value > 1 ? value / 100 : value;
        if (fraction > 1)
        {
            notes?.Add($"progress {value.ToString(CultureInfo.InvariantCulture)} is above 100%; capped at 100%");
            fraction = 1;
        }

        return fraction;
    }

    /// <summary>Epoch seconds, epoch milliseconds (above 1e11), or an ISO 8601 string (no offset: UTC).</summary>
    public static DateTimeOffset? ParseTime(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number when value.TryGetDouble(out var n):
                return FromEpoch(n);
            case JsonValueKind.String:
                var text = value.GetString()!.Trim();
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var epoch))
                {
                    return FromEpoch(epoch);
                }

                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                {
                    return Truncate(parsed);
                }

                return null;
            default:
                return null;
        }
    }

    private static DateTimeOffset? FromEpoch(double n)
    {
        var ms = Math.Abs(n) >= 1e11 ? n : n * 1000;
        if (ms < 0 || ms > 253402300799999)
        {
            return null;
        }

        var ticks = (long)Math.Round(ms * 1000) * 10;
        return DateTimeOffset.UnixEpoch.AddTicks(ticks);
    }

    private static DateTimeOffset Truncate(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % 10), TimeSpan.Zero);

    private static JobProgress? TakeProgress(Dictionary<string, JsonElement> fields, List<KeyValuePair<string, JsonElement>> unknown, List<string> notes)
    {
        double? fraction = null;
        string? stage = null;
        string? message = null;
        long? current = null;
        long? total = null;
        if (Take(fields, ProgressFields) is { } progress)
        {
            switch (progress.ValueKind)
            {
                case JsonValueKind.Number:
                    fraction = ProgressFraction(progress.GetDouble(), percent: false, notes);
                    break;
                case JsonValueKind.String when ParsePercentText(progress.GetString()!) is { } parsed:
                    fraction = ProgressFraction(parsed.Value, parsed.Percent, notes);
                    break;
                case JsonValueKind.Object:
                    var inner = progress.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
                    if (TakeDouble(inner, FractionFields) is { } f)
                    {
                        fraction = ProgressFraction(f, percent: false, notes);
                    }
                    else if (TakeDouble(inner, PercentFields) is { } p)
                    {
                        fraction = ProgressFraction(p, percent: true, notes);
                    }

                    stage = TakeString(inner, StageFields);
                    message = TakeString(inner, MessageFields);
                    current = TakeLong(inner, CurrentFields);
                    total = TakeLong(inner, TotalFields);
                    unknown.AddRange(inner.Select(kv => new KeyValuePair<string, JsonElement>("progress_" + kv.Key, kv.Value)));
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    unknown.Add(new("progress", progress));
                    break;
            }
        }

        if (fraction is null && TakeDouble(fields, PercentFields) is { } percentValue)
        {
            fraction = ProgressFraction(percentValue, percent: true, notes);
        }

        if (fraction is null && TakeDouble(fields, FractionFields) is { } fractionValue)
        {
            fraction = ProgressFraction(fractionValue, percent: false, notes);
        }

        stage ??= TakeString(fields, StageFields);
        message ??= TakeString(fields, MessageFields);
        current ??= TakeLong(fields, CurrentFields);
        total ??= TakeLong(fields, TotalFields);
        if (stage is { Length: > JobLimits.MaxTypeLength })
        {
            unknown.Add(new("stage", ToElement(JsonValue.Create(stage))));
            stage = null;
        }

        if (message is { Length: > JobLimits.MaxTextLength })
        {
            message = message[..JobLimits.MaxTextLength];
            notes.Add("progress message cut to its first 10000 characters");
        }

        return fraction is null && stage is null && message is null && current is null && total is null
            ? null
            : new JobProgress { Fraction = fraction, Stage = stage, Message = message, Current = current, Total = total };
    }

    private static (double Value, bool Percent)? ParsePercentText(string text)
    {
        var t = text.Trim();
        var percent = t.EndsWith('%');
        return double.TryParse(percent ? t[..^1] : t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? (v, percent) : null;
    }

    private static JobError? ToError(JsonElement? value)
    {
        switch (value)
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.String } s when !string.IsNullOrWhiteSpace(s.GetString()):
                return new JobError { Message = Trim(s.GetString()!, JobLimits.MaxTextLength) };
            case { ValueKind: JsonValueKind.Object } o:
                var inner = o.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
                var message = TakeString(inner, ["message", "msg", "error", "detail"]) ?? o.GetRawText();
                var code = TakeString(inner, ["code", "type", "error_type"]);
                return new JobError
                {
                    Message = Trim(message, JobLimits.MaxTextLength),
                    Code = code,
                    Details = inner.Count > 0 ? o : null,
                };
            case { } other:
                return new JobError { Message = Trim(other.GetRawText(), JobLimits.MaxTextLength), Details = other };
        }
    }

    private static JsonElement? BuildInput(JsonElement? input, List<KeyValuePair<string, JsonElement>> extra)
    {
        if (extra.Count == 0)
        {
            return input is { ValueKind: not JsonValueKind.Null } i ? i : null;
        }

        var obj = new JsonObject();
        if (input is { ValueKind: JsonValueKind.Object } inputObject)
        {
            foreach (var p in inputObject.EnumerateObject())
            {
                obj[p.Name] = JsonNode.Parse(p.Value.GetRawText());
            }
        }
        else if (input is { ValueKind: not JsonValueKind.Null } other)
        {
            obj["input"] = JsonNode.Parse(other.GetRawText());
        }

        foreach (var (name, value) in extra)
        {
            var key = obj.ContainsKey(name) ? "legacy_" + name : name;
            obj[key] = JsonNode.Parse(value.GetRawText());
        }

        return ToElement(obj);
    }

    private static JsonElement ToElement(JsonNode node)
    {
        using var document = JsonDocument.Parse(node.ToJsonString());
        return document.RootElement.Clone();
    }

    /// <summary>A field naming what the job belongs to: <c>*_id</c> / <c>*Id</c>, or the user, owner or tenant.</summary>
    public static bool IsRelation(string name) =>
        name.EndsWith("_id", StringComparison.Ordinal)
        || (name.Length > 2 && name.EndsWith("Id", StringComparison.Ordinal) && char.IsLower(name[^3]))
        || RelationFields.Contains(name);

    /// <summary>Adds the field as a label when it can be one (a short scalar, a free key, room left); false when not.</summary>
    private static bool TryLabel(Dictionary<string, string> labels, string name, JsonElement field)
    {
        var key = LabelKey(name);
        if (LabelValue(field) is not { } text || key is null || labels.ContainsKey(key) || labels.Count >= JobLimits.MaxLabels)
        {
            return false;
        }

        labels[key] = text;
        return true;
    }

    private static string? LabelKey(string name)
    {
        var key = name.Replace(':', '_');
        return key.Length is > 0 and <= JobLimits.MaxLabelKeyLength ? key : null;
    }

    private static string? LabelValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String when value.GetString()!.Length <= MaxLabelScalarLength => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    private static DateTimeOffset? TakeTime(Dictionary<string, JsonElement> fields, string[] names, List<KeyValuePair<string, JsonElement>> unknown, List<string> notes)
    {
        foreach (var name in names)
        {
            if (fields.Remove(name, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                if (ParseTime(value) is { } time)
                {
                    return time;
                }

                notes.Add($"{name} '{Trim(value.ToString())}' is not a timestamp; kept as an unknown field");
                unknown.Add(new(name, value));
            }
        }

        return null;
    }

    private static JsonElement? Take(Dictionary<string, JsonElement> fields, string[] names)
    {
        foreach (var name in names)
        {
            if (fields.Remove(name, out var value))
            {
                return value;
            }
        }

        return null;
    }

    private static string? TakeString(Dictionary<string, JsonElement> fields, string[] names)
    {
        foreach (var name in names)
        {
            if (fields.TryGetValue(name, out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
            {
                fields.Remove(name);
                return value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
            }
        }

        return null;
    }

    private static double? TakeDouble(Dictionary<string, JsonElement> fields, string[] names)
    {
        foreach (var name in names)
        {
            if (fields.TryGetValue(name, out var value))
            {
                if (value.ValueKind == JsonValueKind.Number)
                {
                    fields.Remove(name);
                    return value.GetDouble();
                }

                if (value.ValueKind == JsonValueKind.String && ParsePercentText(value.GetString()!) is { } parsed)
                {
                    fields.Remove(name);
                    return parsed.Value;
                }
            }
        }

        return null;
    }

    private static long? TakeLong(Dictionary<string, JsonElement> fields, string[] names)
    {
        foreach (var name in names)
        {
            if (fields.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n))
            {
                fields.Remove(name);
                return n;
            }
        }

        return null;
    }

    private static int? TakeInt(Dictionary<string, JsonElement> fields, string[] names, List<KeyValuePair<string, JsonElement>> unknown)
    {
        foreach (var name in names)
        {
            if (fields.Remove(name, out var value))
            {
                if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n))
                {
                    return n;
                }

                unknown.Add(new(name, value));
            }
        }

        return null;
    }

    private static LegacyRecord Skip(string? id, string? legacyStatus, string reason) => new(id, null, reason, legacyStatus, []);

    private static string Trim(string text, int max = 60) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
