namespace Jobkeeper.Sqlite;

/// <summary>
/// Database files are readable by their owner only (mode 0600), wherever they are made: by the store, a backup or a
/// restore (jobs may hold secrets). SQLite gives its -wal and -shm files the mode of the database file.
/// </summary>
public static class SqliteOwnerOnlyFile
{
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates an empty file with mode 0600 unless it exists (an empty file is a new SQLite database).</summary>
    public static void Create(string path)
    {
        if (File.Exists(path))
        {
            return;
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Mode;
        }

        try
        {
            using (new FileStream(path, options))
            {
            }
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created meanwhile by someone else: theirs it is.
        }
    }

    /// <summary>Sets mode 0600 on an existing file (a copy takes the mode of its source).</summary>
    public static void Restrict(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, Mode);
        }
    }
}
