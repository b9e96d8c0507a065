using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Turns the prompt request bodies (ask, answer, checkpoint) into values, naming the field at fault.</summary>
internal static class PromptRequestParser
{
    private static readonly string[] AnswerFields = ["answer", "confidence", "answered_by", "reason", "key"];
    private static readonly string[] AskFields = ["lease_token", "key", "question", "options", "schema", "expires_in_seconds", "on_expiry", "default_answer"];
    private static readonly string[] CheckpointFields = ["lease_token", "state"];

    public static AnswerCall ParseAnswer(JsonElement body)
    {
        Object(body, AnswerFields);
        if (!body.TryGetProperty("answer", out var answer) || answer.ValueKind == JsonValueKind.Null)
        {
            throw new JobValidationException("answer", "is required: the answer to the open prompt (one of its options, or JSON that fits its schema)");
        }

        double? confidence = body.TryGetProperty("confidence", out var c) ? JsonFields.NullableDouble(c, "confidence") : null;
        if (confidence is { } value && (value < 0 || value > 1))
        {
            throw new JobValidationException("confidence", "must be a number from 0 to 1");
        }

        return new AnswerCall(
            JsonFields.FreeForm(answer, "answer"),
            confidence,
            Text(body, "answered_by", 200),
            Text(body, "reason", 10_000),
            Text(body, "key", PromptRules.MaxKeyLength));
    }

    public static (string Token, PromptRequest Prompt) ParseAsk(JsonElement body)
    {
        Object(body, AskFields);
        var token = body.TryGetProperty("lease_token", out var t) && t.ValueKind == JsonValueKind.String
            ? JsonFields.String(t, "lease_token")
            : throw new JobValidationException("lease_token", "is required: the lease_token the claim returned for this job");
        IReadOnlyList<string>? options = null;
        if (body.TryGetProperty("options", out var o) && o.ValueKind != JsonValueKind.Null)
        {
            if (o.ValueKind != JsonValueKind.Array)
            {
                throw new JobValidationException("options", $"must be an array of strings, not {JsonFields.Describe(o)}");
            }

            var index = 0;
            options = o.EnumerateArray().Select(item => JsonFields.String(item, $"options[{index++}]")).ToArray();
        }

        var expiresIn = body.TryGetProperty("expires_in_seconds", out var e)
            ? JsonFields.NullableSeconds(e, "expires_in_seconds", PromptRules.MaxExpiresIn, zeroAllowed: false)
            : null;
        return (token, new PromptRequest
        {
            Key = Text(body, "key", PromptRules.MaxKeyLength) ?? "",
            Question = Text(body, "question", PromptRules.MaxQuestionLength) ?? "",
            Options = options,
            Schema = body.TryGetProperty("schema", out var s) && s.ValueKind != JsonValueKind.Null ? JsonFields.FreeForm(s, "schema") : null,
            ExpiresIn = expiresIn,
            OnExpiry = Text(body, "on_expiry", 20),
            DefaultAnswer = body.TryGetProperty("default_answer", out var d) && d.ValueKind != JsonValueKind.Null ? JsonFields.FreeForm(d, "default_answer") : null,
        });
    }

    public static (string Token, JsonElement? State) ParseCheckpoint(JsonElement body)
    {
        Object(body, CheckpointFields);
        var token = body.TryGetProperty("lease_token", out var t) && t.ValueKind == JsonValueKind.String
            ? JsonFields.String(t, "lease_token")
            : throw new JobValidationException("lease_token", "is required: the lease_token the claim returned for this job");
        JsonElement? state = body.TryGetProperty("state", out var s) && s.ValueKind != JsonValueKind.Null ? JsonFields.FreeForm(s, "state") : null;
        return (token, state);
    }

    private static void Object(JsonElement body, IReadOnlyCollection<string> fields)
    {
        JsonFields.EnsureObject(body, "body");
        JsonFields.RejectUnknown(body, "", fields);
    }

    private static string? Text(JsonElement body, string field, int maxLength)
    {
        if (!body.TryGetProperty(field, out var value))
        {
            return null;
        }

        var text = JsonFields.NullableString(value, field);
        return text is { Length: var length } && length > maxLength
            ? throw new JobValidationException(field, $"must be at most {maxLength} characters")
            : text;
    }
}

internal sealed record AnswerCall(JsonElement Answer, double? Confidence, string? AnsweredBy, string? Reason, string? Key);
