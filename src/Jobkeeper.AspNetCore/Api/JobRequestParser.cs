using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Turns request bodies into <see cref="NewJob"/> and <see cref="JobPatch"/>, naming the field at fault.</summary>
internal static class JobRequestParser
{
    private static readonly string[] CreateFields = ["type", "id", "input", "labels", "priority", "run_at", "max_attempts"];
    private static readonly string[] PatchFields = ["status", "progress", "result", "error", "labels", "lease_seconds"];
    private static readonly string[] ProgressFields = ["fraction", "stage", "message", "current", "total"];
    private static readonly string[] ErrorFields = ["message", "code", "details"];

    public static NewJob ParseCreate(JsonElement body)
    {
        JsonFields.EnsureObject(body, "body");
        JsonFields.RejectUnknown(body, "", CreateFields);
        if (!body.TryGetProperty("type", out var typeElement))
        {
            throw new JobValidationException("type", "is required: the kind of work, e.g. \"audio.analyze\"");
        }

        return new NewJob
        {
            Type = JsonFields.String(typeElement, "type"),
            Id = body.TryGetProperty("id", out var id) ? JsonFields.NullableString(id, "id") : null,
            Input = body.TryGetProperty("input", out var input) && input.ValueKind != JsonValueKind.Null ? JsonFields.FreeForm(input, "input") : null,
            Labels = body.TryGetProperty("labels", out var labels) && labels.ValueKind != JsonValueKind.Null ? ParseLabels(labels, allowNull: false).ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal) : null,
            Priority = body.TryGetProperty("priority", out var priority) ? JsonFields.Int32(priority, "priority") : 0,
            RunAt = body.TryGetProperty("run_at", out var runAt) && runAt.ValueKind != JsonValueKind.Null ? JsonFields.Timestamp(runAt, "run_at") : null,
            MaxAttempts = body.TryGetProperty("max_attempts", out var max) && max.ValueKind != JsonValueKind.Null ? JsonFields.Int32(max, "max_attempts") : null,
        };
    }

    public static JobPatch ParsePatch(JsonElement body)
    {
        JsonFields.EnsureObject(body, "body");
        JsonFields.RejectUnknown(body, "", PatchFields);
        var patch = new JobPatch();
        if (body.TryGetProperty("status", out var status))
        {
            var name = JsonFields.String(status, "status");
            patch = patch with
            {
                Status = JobStatusNames.TryParse(name, out var parsed)
                    ? parsed
                    : throw new JobValidationException("status", $"'{JsonFields.Shorten(name)}' is not a status; use one of: {JobStatusNames.ValidNames}"),
            };
        }

        if (body.TryGetProperty("progress", out var progress))
        {
            if (progress.ValueKind != JsonValueKind.Null)
            {
                JsonFields.EnsureObject(progress, "progress");
                JsonFields.RejectUnknown(progress, "progress.", ProgressFields);
            }

            patch = patch with { Progress = ParseProgress(progress, "progress.") };
        }

        if (body.TryGetProperty("result", out var result))
        {
            patch = patch with { Result = new Optional<JsonElement?>(true, result.ValueKind == JsonValueKind.Null ? null : JsonFields.FreeForm(result, "result")) };
        }

        if (body.TryGetProperty("error", out var error))
        {
            patch = patch with { Error = new Optional<JobError?>(true, ParseError(error)) };
        }

        if (body.TryGetProperty("labels", out var labels) && labels.ValueKind != JsonValueKind.Null)
        {
            patch = patch with { Labels = ParseLabels(labels, allowNull: true) };
        }

        if (body.TryGetProperty("lease_seconds", out var lease) && lease.ValueKind != JsonValueKind.Null)
        {
            var seconds = JsonFields.Int32(lease, "lease_seconds");
            var max = (int)JobValidator.MaxAppLease.TotalSeconds;
            patch = patch with
            {
                Lease = seconds is >= 1 and <= int.MaxValue && seconds <= max
                    ? TimeSpan.FromSeconds(seconds)
                    : throw new JobValidationException("lease_seconds", $"must be a whole number of seconds from 1 to {max}"),
            };
        }

        return patch;
    }

    public static IReadOnlyList<string> ProgressMembers => ProgressFields;

    /// <summary>Progress members of <paramref name="progress"/> (unknown members are the caller's to reject); null clears them all.</summary>
    public static ProgressPatch ParseProgress(JsonElement progress, string prefix)
    {
        if (progress.ValueKind == JsonValueKind.Null)
        {
            // Merge-patch null: clear every member.
            return new ProgressPatch
            {
                Fraction = new(true, null), Stage = new(true, null), Message = new(true, null), Current = new(true, null), Total = new(true, null),
            };
        }

        var patch = new ProgressPatch();
        if (progress.TryGetProperty("fraction", out var fraction))
        {
            patch = patch with { Fraction = new(true, JsonFields.NullableDouble(fraction, prefix + "fraction")) };
        }

        if (progress.TryGetProperty("stage", out var stage))
        {
            patch = patch with { Stage = new(true, JsonFields.NullableString(stage, prefix + "stage")) };
        }

        if (progress.TryGetProperty("message", out var message))
        {
            patch = patch with { Message = new(true, JsonFields.NullableString(message, prefix + "message")) };
        }

        if (progress.TryGetProperty("current", out var current))
        {
            patch = patch with { Current = new(true, JsonFields.NullableInt64(current, prefix + "current")) };
        }

        if (progress.TryGetProperty("total", out var total))
        {
            patch = patch with { Total = new(true, JsonFields.NullableInt64(total, prefix + "total")) };
        }

        return patch;
    }

    public static JobError? ParseError(JsonElement error)
    {
        if (error.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        JsonFields.EnsureObject(error, "error");
        JsonFields.RejectUnknown(error, "error.", ErrorFields);
        if (!error.TryGetProperty("message", out var message))
        {
            throw new JobValidationException("error.message", "is required: say what went wrong");
        }

        return new JobError
        {
            Message = JsonFields.String(message, "error.message"),
            Code = error.TryGetProperty("code", out var code) ? JsonFields.NullableString(code, "error.code") : null,
            Details = error.TryGetProperty("details", out var details) && details.ValueKind != JsonValueKind.Null ? JsonFields.FreeForm(details, "error.details") : null,
        };
    }

    private static Dictionary<string, string?> ParseLabels(JsonElement labels, bool allowNull)
    {
        JsonFields.EnsureObject(labels, "labels");
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var label in labels.EnumerateObject())
        {
            var field = "labels." + label.Name;
            if (label.Value.ValueKind == JsonValueKind.Null && allowNull)
            {
                result[label.Name] = null;
                continue;
            }

            if (label.Value.ValueKind != JsonValueKind.String)
            {
                throw new JobValidationException(field,
                    $"label values must be strings{(allowNull ? " (or null to remove the label)" : "")}, not {JsonFields.Describe(label.Value)}");
            }

            result[label.Name] = JsonFields.String(label.Value, field);
        }

        return result;
    }
}
