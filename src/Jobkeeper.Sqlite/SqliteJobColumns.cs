using Jobkeeper.Relational;

namespace Jobkeeper.Sqlite;

/// <summary>The SQLite spelling of the shared <see cref="JobColumns"/> mapping: <c>$name</c> parameters.</summary>
internal static class SqliteJobColumns
{
    public static string SelectList { get; } = JobColumns.SelectList("j");

    public static string InsertColumns { get; } = string.Join(", ", JobColumns.Inserted);

    public static string InsertValues { get; } = string.Join(", ", InsertParameters);

    /// <summary>Parameter names of the insert, in the order of <see cref="JobColumns.ToInsertValues"/>.</summary>
    public static IReadOnlyList<string> InsertParameters => [.. JobColumns.Inserted.Select(c => "$" + c)];

    /// <summary><c>SET</c> list of an update; with labels when they changed.</summary>
    public static string UpdateAssignments(bool withLabels) => string.Join(", ", JobColumns.Updated(withLabels).Select(c => $"{c} = ${c}"));

    /// <summary>Parameter names of an update, in the order of <see cref="JobColumns.ToStateValues"/>.</summary>
    public static IReadOnlyList<string> UpdateParameters(bool withLabels) => [.. JobColumns.Updated(withLabels).Select(c => "$" + c)];
}
