using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// From the request bodies of the contract to the calls of the job manager and the work queue: defaults, and the few
/// checks that are about one route's meaning rather than the shape of its body.
/// </summary>
internal static class ContractMapping
{
    public static JobPatch ToPatch(this UpdateJobRequest request)
    {
        var patch = new JobPatch();
        if (request.Status.HasValue)
        {
            patch = patch with
            {
                Status = request.Status.Value ?? throw new JobValidationException("status", $"must be a status, one of: {JobStatusNames.ValidNames}, not null"),
            };
        }

        if (request.Progress.HasValue)
        {
            // Merge-patch null: clear every member.
            patch = patch with { Progress = request.Progress.Value?.ToPatch() ?? ClearAll };
        }

        if (request.Result.HasValue)
        {
            patch = patch with { Result = new Optional<System.Text.Json.JsonElement?>(true, request.Result.Value) };
        }

        if (request.Error.HasValue)
        {
            patch = patch with { Error = new Optional<JobError?>(true, request.Error.Value?.ToError()) };
        }

        if (request.Labels is { HasValue: true, Value: { } labels })
        {
            patch = patch with { Labels = labels };
        }

        if (request.LeaseSeconds is { HasValue: true, Value: { } seconds })
        {
            patch = patch with { Lease = TimeSpan.FromSeconds(seconds) };
        }

        return patch;
    }

    public static ProgressPatch ToPatch(this ProgressUpdate progress) => new()
    {
        Fraction = progress.Fraction,
        Stage = progress.Stage,
        Message = progress.Message,
        Current = progress.Current,
        Total = progress.Total,
    };

    private static ProgressPatch ClearAll { get; } = new()
    {
        Fraction = new(true, null), Stage = new(true, null), Message = new(true, null), Current = new(true, null), Total = new(true, null),
    };

    public static TimeSpan? Lease(int? seconds) => seconds is { } s ? TimeSpan.FromSeconds(s) : null;

    public static PromptRequest ToPrompt(this AskPromptRequest request) => new()
    {
        Key = request.Key,
        Question = request.Question,
        Options = request.Options,
        Schema = request.Schema,
        ExpiresIn = request.ExpiresInSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        OnExpiry = request.OnExpiry,
        DefaultAnswer = request.DefaultAnswer,
    };

    public static System.Text.Json.JsonElement RequiredAnswer(this AnswerPromptRequest request) =>
        request.Answer.ValueKind is System.Text.Json.JsonValueKind.Null or System.Text.Json.JsonValueKind.Undefined
            ? throw new JobValidationException("answer", "is required: the answer to the open prompt (one of its options, or JSON that fits its schema)")
            : request.Answer;
}
