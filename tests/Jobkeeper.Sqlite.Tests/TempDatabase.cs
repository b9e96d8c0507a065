namespace Jobkeeper.Sqlite.Tests;

/// <summary>A fresh directory for one test's database file, removed afterwards.</summary>
internal sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "jobkeeper-tests", Guid.NewGuid().ToString("N"));
        Path = System.IO.Path.Combine(Directory, "nested", "jobs.db");
    }

    public string Directory { get; }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
