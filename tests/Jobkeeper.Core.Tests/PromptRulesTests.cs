using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

public class PromptRulesTests
{
    private static readonly DateTimeOffset Now = TestJobs.T0;

    private const string CountSchema = """
        {"type":"object","properties":{"count":{"type":"integer","minimum":1},"note":{"type":"string"}},"required":["count"],"additionalProperties":false}
        """;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static JobPrompt Prompt(IReadOnlyList<string>? options = null, string? schema = null) => new()
    {
        Key = "approve",
        Question = "Ship it?",
        Options = options,
        Schema = schema is null ? null : Json(schema),
        AskedAt = Now,
    };

    private static async Task<JobValidationException> Invalid(JobPrompt prompt, string field, string prefix = "")
    {
        var error = await Assert.ThrowsAsync<JobValidationException>(() => PromptRules.ValidateAskAsync(prompt, prefix));
        Assert.Equal(field, error.Field);
        return error;
    }

    // ---- ValidateAskAsync ----

    [Fact]
    public async Task A_plain_question_options_or_a_schema_are_accepted()
    {
        await PromptRules.ValidateAskAsync(Prompt());
        await PromptRules.ValidateAskAsync(Prompt(options: ["yes", "no"]));
        await PromptRules.ValidateAskAsync(Prompt(schema: CountSchema));
        await PromptRules.ValidateAskAsync(Prompt() with { ExpiresAt = Now.AddMinutes(1), OnExpiry = PromptExpiry.Fail });
    }

    [Fact]
    public async Task Key_and_question_are_required_and_bounded()
    {
        await Invalid(Prompt() with { Key = "" }, "key");
        await Invalid(Prompt() with { Key = "  " }, "key");
        await Invalid(Prompt() with { Key = new string('k', JobLimits.MaxPromptKeyLength + 1) }, "key");
        await PromptRules.ValidateAskAsync(Prompt() with { Key = new string('k', JobLimits.MaxPromptKeyLength) });
        await Invalid(Prompt() with { Question = "" }, "question");
        await Invalid(Prompt() with { Question = new string('q', JobLimits.MaxQuestionLength + 1) }, "question");
        await Invalid(Prompt() with { Key = "" }, "prompt.key", prefix: "prompt.");
    }

    [Fact]
    public async Task Options_must_be_distinct_non_empty_and_not_too_many()
    {
        await Invalid(Prompt(options: []), "options");
        await Invalid(Prompt(options: ["yes", ""]), "options");
        await Invalid(Prompt(options: ["yes", "yes"]), "options");
        await Invalid(Prompt(options: Enumerable.Range(0, JobLimits.MaxPromptOptions + 1).Select(i => $"o{i}").ToArray()), "options");
        await PromptRules.ValidateAskAsync(Prompt(options: Enumerable.Range(0, JobLimits.MaxPromptOptions).Select(i => $"o{i}").ToArray()));
        await PromptRules.ValidateAskAsync(Prompt(options: ["yes", "Yes"]));
    }

    [Fact]
    public async Task Options_and_a_schema_are_exclusive()
    {
        var error = await Invalid(Prompt(options: ["yes", "no"], schema: CountSchema), "schema");
        Assert.Contains("not both", error.Problem);
    }

    [Fact]
    public async Task Boolean_schemas_are_accepted()
    {
        await PromptRules.ValidateAskAsync(Prompt(schema: "true"));
        Assert.Null(await PromptRules.WhyNotAcceptedAsync(Prompt(schema: "true"), Json("{\"any\":1}")));
        Assert.NotNull(await PromptRules.WhyNotAcceptedAsync(Prompt(schema: "false"), Json("1")));
    }

    [Theory]
    [InlineData("\"a string\"")]
    [InlineData("42")]
    [InlineData("[1,2]")]
    [InlineData("null")]
    public async Task A_schema_that_is_not_an_object_is_refused(string schema)
    {
        var error = await Invalid(Prompt(schema: schema), "schema");
        Assert.Contains("JSON schema", error.Problem);
    }

    [Fact]
    public async Task A_schema_that_cannot_be_read_is_refused()
    {
        var error = await Invalid(Prompt(schema: """{"$ref":"#/definitions/missing"}"""), "schema");
        Assert.Contains("JSON schema", error.Problem);
    }

    [Fact]
    public async Task On_expiry_must_be_fail_or_default()
    {
        await Invalid(Prompt() with { ExpiresAt = Now.AddMinutes(1), OnExpiry = "later" }, "on_expiry");
        await Invalid(Prompt() with { ExpiresAt = Now.AddMinutes(1), OnExpiry = "Fail" }, "on_expiry");
    }

    [Fact]
    public async Task A_default_answer_needs_an_expiry_and_must_fit_the_prompt()
    {
        var options = Prompt(options: ["yes", "no"]) with { OnExpiry = PromptExpiry.Default, DefaultAnswer = Json("\"no\"") };
        await PromptRules.ValidateAskAsync(options with { ExpiresAt = Now.AddMinutes(1) });

        var noExpiry = await Invalid(options, "on_expiry");
        Assert.Contains("expiry", noExpiry.Problem);
        await Invalid(options with { ExpiresAt = Now.AddMinutes(1), DefaultAnswer = null }, "default_answer");

        var misfit = await Invalid(options with { ExpiresAt = Now.AddMinutes(1), DefaultAnswer = Json("\"maybe\"") }, "default_answer");
        Assert.Contains("does not fit", misfit.Problem);
        Assert.Contains("maybe", misfit.Problem);

        var schema = Prompt(schema: CountSchema) with { ExpiresAt = Now.AddMinutes(1), OnExpiry = PromptExpiry.Default };
        await PromptRules.ValidateAskAsync(schema with { DefaultAnswer = Json("""{"count":1}""") });
        var badCount = await Invalid(schema with { DefaultAnswer = Json("""{"count":0}""") }, "default_answer");
        Assert.Contains("count", badCount.Problem);
    }

    // ---- WhyNotAcceptedAsync / EnsureAcceptedAsync ----

    [Fact]
    public async Task Only_one_of_the_options_is_accepted_exactly_as_written()
    {
        var prompt = Prompt(options: ["yes", "no"]);
        Assert.Null(await PromptRules.WhyNotAcceptedAsync(prompt, Json("\"yes\"")));
        Assert.Null(await PromptRules.WhyNotAcceptedAsync(prompt, Json("\"no\"")));
        await PromptRules.EnsureAcceptedAsync("job-1", prompt, Json("\"no\""));

        foreach (var answer in new[] { "\"maybe\"", "\"Yes\"", "\"yes \"", "1", "true", "null", "[\"yes\"]", "{\"answer\":\"yes\"}" })
        {
            var why = await PromptRules.WhyNotAcceptedAsync(prompt, Json(answer));
            Assert.NotNull(why);
            Assert.Contains("one of the options", why);
            Assert.Contains("\"yes\"", why);
        }

        var error = await Assert.ThrowsAsync<AnswerRejectedException>(() => PromptRules.EnsureAcceptedAsync("job-1", prompt, Json("\"maybe\"")));
        Assert.Equal("job-1", error.JobId);
        Assert.Equal("approve", error.Key);
        Assert.Contains("maybe", error.Why);
        Assert.Contains(error.Why, error.Message);
    }

    [Fact]
    public async Task An_answer_satisfying_the_schema_is_accepted()
    {
        var prompt = Prompt(schema: CountSchema);
        Assert.Null(await PromptRules.WhyNotAcceptedAsync(prompt, Json("""{"count":3}""")));
        Assert.Null(await PromptRules.WhyNotAcceptedAsync(prompt, Json("""{"count":3,"note":"ok"}""")));
        await PromptRules.EnsureAcceptedAsync("job-1", prompt, Json("""{"count":1}"""));
    }

    [Fact]
    public async Task An_answer_failing_the_schema_is_rejected_with_a_reason_naming_the_path()
    {
        var prompt = Prompt(schema: CountSchema);

        var tooSmall = await PromptRules.WhyNotAcceptedAsync(prompt, Json("""{"count":0}"""));
        Assert.NotNull(tooSmall);
        Assert.Contains("schema", tooSmall);
        Assert.Contains("count", tooSmall);

        var wrongType = await PromptRules.WhyNotAcceptedAsync(prompt, Json("""{"count":1,"note":5}"""));
        Assert.NotNull(wrongType);
        Assert.Contains("note", wrongType);

        var missing = await PromptRules.WhyNotAcceptedAsync(prompt, Json("""{"note":"x"}"""));
        Assert.NotNull(missing);
        Assert.Contains("count", missing);

        var notAnObject = await PromptRules.WhyNotAcceptedAsync(prompt, Json("\"three\""));
        Assert.NotNull(notAnObject);
        Assert.Contains("Object", notAnObject);

        var error = await Assert.ThrowsAsync<AnswerRejectedException>(() => PromptRules.EnsureAcceptedAsync("job-1", prompt, Json("""{"count":-2}""")));
        Assert.Contains("count", error.Why);
    }

    [Fact]
    public async Task An_error_at_the_root_of_the_answer_is_called_the_answer()
    {
        var why = await PromptRules.WhyNotAcceptedAsync(Prompt(schema: CountSchema), Json("\"three\""));
        Assert.NotNull(why);
        Assert.Contains("the answer: ", why);
        Assert.DoesNotContain("#/:", why);
    }

    [Fact]
    public async Task Without_options_or_schema_any_answer_is_accepted()
    {
        foreach (var answer in new[] { "\"anything\"", "1", "null", "{\"a\":[1,2]}" })
        {
            Assert.Null(await PromptRules.WhyNotAcceptedAsync(Prompt(), Json(answer)));
        }
    }
}
