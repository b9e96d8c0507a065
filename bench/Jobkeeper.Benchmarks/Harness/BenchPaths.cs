namespace Jobkeeper.Benchmarks.Harness;

/// <summary>Where benchmark data and results live: bench/.data (cached stores) and bench/.results (raw outputs), both gitignored.</summary>
public static class BenchPaths
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    public static string Repository => Root.Value;

    public static string Bench => Path.Combine(Repository, "bench");

    public static string Data => Ensure(Path.Combine(Bench, ".data"));

    public static string Results => Ensure(Path.Combine(Bench, ".results"));

    public static string DataFile(string name) => Path.Combine(Data, name);

    /// <summary>Deletes a SQLite database with its WAL and shared-memory files.</summary>
    public static void DeleteDatabase(string path)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
        {
            File.Delete(path + suffix);
        }
    }

    private static string Ensure(string path)
    {
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Jobkeeper.slnx")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Run the benchmarks from inside the Jobkeeper repository (Jobkeeper.slnx not found above the current directory).");
    }
}
