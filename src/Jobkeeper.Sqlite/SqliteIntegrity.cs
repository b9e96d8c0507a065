using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>What a bounded integrity check found.</summary>
internal enum IntegrityVerdict
{
    /// <summary>Every page was checked and found sound.</summary>
    Sound,

    /// <summary>Damage was found (see the problem).</summary>
    Damaged,

    /// <summary>The time ran out first; the pages checked until then were sound.</summary>
    Unfinished,
}

internal sealed record IntegrityResult(IntegrityVerdict Verdict, string? Problem, TimeSpan Elapsed);

/// <summary>
/// <c>PRAGMA quick_check</c> within a time limit: it reads every page of every table and index and checks
/// their structure (not that each index matches its table, which <c>integrity_check</c> adds at several times
/// the cost). A progress handler interrupts it when the time is up, so a start never waits longer than that.
/// </summary>
internal static class SqliteIntegrity
{
    private const int SqliteInterrupt = 9;

    /// <summary>Virtual-machine steps between two looks at the clock (well under a millisecond apart).</summary>
    private const int StepsPerLook = 1000;

    public static IntegrityResult QuickCheck(SqliteConnection connection, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, StepsPerLook,
            _ => Stopwatch.GetElapsedTime(started) > timeout ? 1 : 0, null);
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check(10)";
            var lines = new List<string>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            return lines is ["ok"]
                ? new IntegrityResult(IntegrityVerdict.Sound, null, Stopwatch.GetElapsedTime(started))
                : new IntegrityResult(IntegrityVerdict.Damaged, Summary(lines), Stopwatch.GetElapsedTime(started));
        }
        catch (SqliteException ex) when ((ex.SqliteErrorCode & 0xFF) == SqliteInterrupt)
        {
            return new IntegrityResult(IntegrityVerdict.Unfinished, null, Stopwatch.GetElapsedTime(started));
        }
        catch (SqliteException ex) when (SqliteFaults.IsDamage(ex))
        {
            return new IntegrityResult(IntegrityVerdict.Damaged, ex.Message, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 0, null, null);
        }
    }

    /// <summary>The first problems on one line ("Tree 3 page 18 cell 7: invalid page number …; …"); <c>jobkeeper check</c> lists them all.</summary>
    private static string Summary(List<string> lines)
    {
        var problems = lines.SelectMany(l => l.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(l => !l.StartsWith("*** in database", StringComparison.Ordinal))
            .ToList();
        return string.Join("; ", problems.Take(3)) + (problems.Count > 3 ? $"; and {problems.Count - 3} more" : "");
    }
}
