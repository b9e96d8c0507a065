using Jobkeeper.Validation;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Postgres;

/// <summary>Refuses PostgreSQL store settings that cannot work; keys are those of the section <c>Jobkeeper:Postgres</c>.</summary>
public sealed class PostgresStoreOptionsValidator : IValidateOptions<PostgresStoreOptions>
{
    public const string Section = "Jobkeeper:Postgres";

    public ValidateOptionsResult Validate(string? name, PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new OptionProblems();
        problems.NotEmpty($"{Section}:{nameof(options.ConnectionString)}", options.ConnectionString);
        problems.Range($"{Section}:{nameof(options.Timeout)}", options.Timeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        problems.Range($"{Section}:{nameof(options.MaxBatchSize)}", options.MaxBatchSize, 1, 100_000);
        problems.Range($"{Section}:{nameof(options.Writers)}", options.Writers, 1, 64);
        // The writers, a reader and the listener each hold a connection.
        problems.Range($"{Section}:{nameof(options.MaxPoolSize)}", options.MaxPoolSize, options.Writers + 2, 10_000);
        // PostgreSQL truncates identifiers, channel names included, at 63 bytes: a longer name would listen elsewhere.
        if (string.IsNullOrEmpty(options.Channel) || System.Text.Encoding.UTF8.GetByteCount(options.Channel) > 63)
        {
            problems.Add($"{Section}:{nameof(options.Channel)} must be from 1 to 63 bytes long; it is '{options.Channel}'");
        }

        return problems.Result();
    }
}
