using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Jobkeeper.Sqlite;

/// <summary>
/// Makes one process at a time the writer of a SQLite database: an operating-system lock on
/// <c>&lt;database&gt;.lock</c>, held for as long as the store (or an operator command that rewrites the file) has
/// it open. Two writers would each trust their own hot cache and serve the other's changes stale, so a second one
/// is refused at start, told who holds the file.
/// </summary>
/// <remarks>
/// The lock is <c>flock</c> on Unix (what <see cref="FileShare.None"/> takes) and a share mode on Windows; both
/// belong to the open file, so the operating system drops them when the process ends however it ends: a lock file
/// left behind by <c>kill -9</c> blocks nobody. The file records who holds it (pid, host, since when, what) and is
/// emptied, not deleted, on release: deleting it could let two processes lock two different files of the same name.
/// </remarks>
public sealed class SqliteStoreLock : IDisposable
{
    private readonly FileStream _file;

    private SqliteStoreLock(FileStream file, string path)
    {
        _file = file;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>The lock file of a database: <c>&lt;database&gt;.lock</c> beside it.</summary>
    public static string PathFor(string databasePath) => System.IO.Path.GetFullPath(databasePath) + ".lock";

    /// <summary>
    /// Takes the lock of <paramref name="databasePath"/> for this process and records <paramref name="holder"/> (what
    /// this process is, e.g. "jobkeeper serve on http://127.0.0.1:8080") in it; throws
    /// <see cref="SqliteStoreLockedException"/> naming the holder when another process (or another store in this
    /// process) has it. The directory must exist.
    /// </summary>
    public static SqliteStoreLock Acquire(string databasePath, string? holder)
    {
        var database = System.IO.Path.GetFullPath(databasePath);
        var path = PathFor(database);
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            // Windows enforces share modes, so others may still read who holds the file; Unix maps None to flock(LOCK_EX).
            Share = OperatingSystem.IsWindows() ? FileShare.Read : FileShare.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = SqliteOwnerOnlyFile.Mode;
        }

        FileStream file;
        try
        {
            file = new FileStream(path, options);
        }
        catch (IOException ex) when (IsHeldElsewhere(ex))
        {
            throw new SqliteStoreLockedException(database, path, ReadHolder(database), ex);
        }

        try
        {
            var record = Encoding.UTF8.GetBytes(SqliteLockHolder.Current(holder).Format());
            file.SetLength(0);
            file.Write(record);
            file.Flush(flushToDisk: false);
            return new SqliteStoreLock(file, path);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Who holds the lock of <paramref name="databasePath"/> as its lock file says, or null when it says nothing (free, or unreadable).</summary>
    public static SqliteLockHolder? ReadHolder(string databasePath)
    {
        try
        {
            using var handle = OpenForReading(PathFor(databasePath));
            if (handle is null)
            {
                return null;
            }

            var buffer = new byte[4096];
            var length = RandomAccess.Read(handle, buffer, 0);
            return SqliteLockHolder.Parse(Encoding.UTF8.GetString(buffer, 0, length));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Empties the record and releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            _file.SetLength(0);
        }
        catch (IOException)
        {
            // Releasing matters, the record does not: it is rewritten by the next holder.
        }

        _file.Dispose();
    }

    /// <summary>
    /// Opens the lock file to read the holder's record. On Unix a FileStream would itself ask for a shared flock
    /// and fail while the holder has the file, so the file is opened with open(2), which takes no lock.
    /// </summary>
    private static SafeFileHandle? OpenForReading(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return File.Exists(path) ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete) : null;
        }

        var fd = NativeMethods.Open(path, 0 /* O_RDONLY */);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The error of a lock held elsewhere: EWOULDBLOCK from flock, or a sharing or lock violation on Windows.</summary>
    private static bool IsHeldElsewhere(IOException ex) =>
        OperatingSystem.IsWindows()
            ? (ex.HResult & 0xFFFF) is 32 or 33
            : ex.HResult == (OperatingSystem.IsLinux() ? 11 : 35);

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    }
}

/// <summary>Who holds a database's lock: what its lock file records.</summary>
public sealed record SqliteLockHolder(int ProcessId, string Host, DateTimeOffset Since, string Holder)
{
    internal static SqliteLockHolder Current(string? holder)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var name = string.IsNullOrWhiteSpace(holder) ? process.ProcessName : holder;
        return new SqliteLockHolder(Environment.ProcessId, Environment.MachineName, process.StartTime.ToUniversalTime(), name);
    }

    /// <summary>"pid 1234 on host web-1 (jobkeeper serve on http://127.0.0.1:8080), since 2026-05-01T09:00:00Z".</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"pid {ProcessId} on host {Host} ({Holder}), since {Since.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");

    internal string Format() => string.Create(CultureInfo.InvariantCulture,
        $"pid: {ProcessId}\nhost: {Host}\nsince: {Since.UtcDateTime:O}\nholder: {Holder.ReplaceLineEndings(" ")}\n");

    internal static SqliteLockHolder? Parse(string text)
    {
        var fields = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(':', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0].Trim(), pair => pair[1].Trim(), StringComparer.Ordinal);
        return fields.TryGetValue("pid", out var pid) && int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? new SqliteLockHolder(id, fields.GetValueOrDefault("host") ?? "?",
                DateTimeOffset.TryParse(fields.GetValueOrDefault("since"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since)
                    ? since
                    : DateTimeOffset.MinValue,
                fields.GetValueOrDefault("holder") ?? "?")
            : null;
    }
}

/// <summary>Another process (or another store in this one) has the database open for writing.</summary>
public sealed class SqliteStoreLockedException : IOException
{
    public SqliteStoreLockedException(string databasePath, string lockPath, SqliteLockHolder? holder, Exception? inner = null)
        : base(InUse(databasePath, lockPath, holder) + " Only one process may write to a SQLite database: stop that one first, " +
            "or work through its HTTP API (for several instances use PostgreSQL).", inner)
    {
        DatabasePath = databasePath;
        LockPath = lockPath;
        Holder = holder;
        InUseMessage = InUse(databasePath, lockPath, holder);
    }

    public string DatabasePath { get; }

    public string LockPath { get; }

    /// <summary>Who holds it as its lock file says; null when that could not be read.</summary>
    public SqliteLockHolder? Holder { get; }

    /// <summary>The first sentence of the message, naming the file and its holder, for callers that give their own advice.</summary>
    public string InUseMessage { get; }

    private static string InUse(string databasePath, string lockPath, SqliteLockHolder? holder) =>
        $"The SQLite database {databasePath} is in use by another process: {(holder is null ? $"it holds {lockPath}" : holder.ToString())}.";
}
