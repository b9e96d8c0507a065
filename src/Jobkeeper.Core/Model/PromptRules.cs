using System.Text.Json;
using Jobkeeper.Errors;
using NJsonSchema;

namespace Jobkeeper.Model;

/// <summary>What a prompt may be, and whether an answer fits it (one of the options; valid against the schema).</summary>
public static class PromptRules
{
    public static readonly TimeSpan MaxExpiresIn = TimeSpan.FromSeconds(JobLimits.MaxPromptExpirySeconds);

    /// <summary>Checks a prompt about to be asked; <paramref name="prefix"/> is how the request names its members.</summary>
    public static async Task ValidateAskAsync(JobPrompt prompt, string prefix = "")
    {
        if (string.IsNullOrWhiteSpace(prompt.Key) || prompt.Key.Length > JobLimits.MaxPromptKeyLength)
        {
            throw new JobValidationException(prefix + "key", $"is required: a name for this question, 1 to {JobLimits.MaxPromptKeyLength} characters, unique within the job");
        }

        if (string.IsNullOrWhiteSpace(prompt.Question) || prompt.Question.Length > JobLimits.MaxQuestionLength)
        {
            throw new JobValidationException(prefix + "question", $"is required: the question for a person, 1 to {JobLimits.MaxQuestionLength} characters");
        }

        if (prompt.Options is { } options)
        {
            if (options.Count is 0 or > JobLimits.MaxPromptOptions || options.Any(string.IsNullOrEmpty) || options.Distinct(StringComparer.Ordinal).Count() != options.Count)
            {
                throw new JobValidationException(prefix + "options", $"must be 1 to {JobLimits.MaxPromptOptions} different non-empty strings");
            }

            if (prompt.Schema is not null)
            {
                throw new JobValidationException(prefix + "schema", "give options or a schema, not both");
            }
        }

        if (prompt.Schema is { } schema)
        {
            await ParseSchemaAsync(schema, prefix + "schema").ConfigureAwait(false);
        }

        if (prompt.OnExpiry is not (null or PromptExpiry.Fail or PromptExpiry.Default))
        {
            throw new JobValidationException(prefix + "on_expiry", "must be \"fail\" or \"default\"");
        }

        if (prompt.OnExpiry == PromptExpiry.Default)
        {
            if (prompt.ExpiresAt is null)
            {
                throw new JobValidationException(prefix + "on_expiry", "\"default\" needs an expiry time");
            }

            if (prompt.DefaultAnswer is not { } fallback)
            {
                throw new JobValidationException(prefix + "default_answer", "is required when on_expiry is \"default\"");
            }

            var why = await WhyNotAcceptedAsync(prompt, fallback).ConfigureAwait(false);
            if (why is not null)
            {
                throw new JobValidationException(prefix + "default_answer", "does not fit the prompt: " + why);
            }
        }
    }

    /// <summary>Throws <see cref="AnswerRejectedException"/> (422) unless <paramref name="answer"/> fits the prompt.</summary>
    public static async Task EnsureAcceptedAsync(string jobId, JobPrompt prompt, JsonElement answer)
    {
        if (await WhyNotAcceptedAsync(prompt, answer).ConfigureAwait(false) is { } why)
        {
            throw new AnswerRejectedException(jobId, prompt.Key, why);
        }
    }

    /// <summary>Null when the answer fits; otherwise why not, in words.</summary>
    public static async Task<string?> WhyNotAcceptedAsync(JobPrompt prompt, JsonElement answer)
    {
        if (prompt.Options is { } options)
        {
            return answer.ValueKind == JsonValueKind.String && options.Contains(answer.GetString()!, StringComparer.Ordinal)
                ? null
                : $"it must be one of the options {JsonSerializer.Serialize(options, Json.CoreJsonContext.Default.IReadOnlyListString)}, not {Describe(answer)}";
        }

        if (prompt.Schema is { } schemaElement)
        {
            // The boolean schemas: true accepts any answer, false none.
            if (schemaElement.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return schemaElement.ValueKind == JsonValueKind.True ? null : "the prompt's schema (false) accepts no answer";
            }

            var schema = await ParseSchemaAsync(schemaElement, "schema").ConfigureAwait(false);
            var errors = schema.Validate(answer.GetRawText());
            if (errors.Count > 0)
            {
                return "it does not satisfy the schema: " + string.Join("; ", errors.Take(5).Select(e =>
                    $"{(string.IsNullOrEmpty(e.Path) || e.Path is "#" or "#/" ? "the answer" : e.Path)}: {e.Kind}"));
            }
        }

        return null;
    }

    private static async Task<JsonSchema> ParseSchemaAsync(JsonElement schema, string field)
    {
        if (schema.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return schema.ValueKind == JsonValueKind.True ? new JsonSchema() : new JsonSchema { Not = new JsonSchema() };
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new JobValidationException(field, "must be a JSON schema (an object, or true or false)");
        }

        try
        {
            return await JsonSchema.FromJsonAsync(schema.GetRawText()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Newtonsoft.Json.JsonException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            throw new JobValidationException(field, "is not a JSON schema this server can read: " + ex.Message);
        }
    }

    private static string Describe(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length <= 60 ? text : text[..60] + "…";
    }
}
