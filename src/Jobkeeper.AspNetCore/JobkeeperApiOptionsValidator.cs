using Jobkeeper.Validation;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore;

/// <summary>Refuses HTTP API settings that cannot work; keys are those of the section <c>Jobkeeper</c>, where <c>jobkeeper serve</c> reads them.</summary>
public sealed class JobkeeperApiOptionsValidator : IValidateOptions<JobkeeperApiOptions>
{
    public const string Section = "Jobkeeper";

    public ValidateOptionsResult Validate(string? name, JobkeeperApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new OptionProblems();
        problems.Range($"{Section}:{nameof(options.MaxRequestBodyBytes)}", options.MaxRequestBodyBytes, 1024, 1024L * 1024 * 1024);
        problems.Range($"{Section}:{nameof(options.DefaultCleanupDays)}", options.DefaultCleanupDays, 0, 36_500);
        problems.Range($"{Section}:{nameof(options.IdempotencyKeyWindow)}", options.IdempotencyKeyWindow, TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(Model.JobLimits.MaxUniqueWindowSeconds));
        return problems.Result();
    }
}
