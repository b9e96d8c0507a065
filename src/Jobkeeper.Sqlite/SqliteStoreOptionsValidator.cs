using Jobkeeper.Validation;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Sqlite;

/// <summary>Refuses SQLite store settings that cannot work; keys are those of the section <c>Jobkeeper:Sqlite</c>.</summary>
public sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public const string Section = "Jobkeeper:Sqlite";

    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new OptionProblems();
        problems.NotEmpty($"{Section}:{nameof(options.Path)}", options.Path);
        if (!Enum.IsDefined(options.Durability))
        {
            problems.Add($"{Section}:{nameof(options.Durability)} must be Normal or Full; it is {(int)options.Durability}");
        }

        problems.Range($"{Section}:{nameof(options.ReadConnections)}", options.ReadConnections, 1, 256);
        problems.Range($"{Section}:{nameof(options.MaxBatchSize)}", options.MaxBatchSize, 1, 100_000);
        problems.Range($"{Section}:{nameof(options.StartupCheckTimeout)}", options.StartupCheckTimeout, TimeSpan.Zero, TimeSpan.FromHours(1));
        return problems.Result();
    }
}
