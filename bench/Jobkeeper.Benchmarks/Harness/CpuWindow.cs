using System.Diagnostics;
using System.Globalization;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>
/// CPU time spent by this process and by the PostgreSQL server (the postmaster and its children, read from /proc) over a
/// window: CPU per job is steadier than jobs per second on a shared machine, and is what bench/compare reports for pg-boss
/// and graphile-worker (cpu_us_per_job), measured the same way.
/// </summary>
public sealed class CpuWindow
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux
    private readonly int? _postmaster;
    private readonly TimeSpan _process0;
    private readonly double? _server0;

    private CpuWindow(int? postmaster)
    {
        _postmaster = postmaster;
        _process0 = ProcessCpu();
        _server0 = ServerMs(postmaster);
    }

    /// <summary>
    /// Starts a window; the server is found from a backend of <paramref name="connectionString"/> (none when /proc cannot say;
    /// with no connection string, as for SQLite, only this process is counted).
    /// </summary>
    public static async Task<CpuWindow> StartAsync(string? connectionString)
    {
        if (connectionString is null)
        {
            return new CpuWindow(null);
        }

        int? postmaster = null;
        try
        {
            var backend = (int)await PostgresBench.ScalarAsync(connectionString, "SELECT pg_backend_pid()").ConfigureAwait(false);
            postmaster = Stat(backend.ToString(CultureInfo.InvariantCulture)).Ppid;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // Another machine's server, or no /proc: only this process is counted.
        }

        return new CpuWindow(postmaster);
    }

    /// <summary>µs of CPU per job since the start: in all, in this process, in PostgreSQL (null when the server was not found).</summary>
    public (double Total, double Process, double? Server) PerJob(int jobs)
    {
        var process = (ProcessCpu() - _process0).TotalMilliseconds;
        double? server = _server0 is { } s0 && ServerMs(_postmaster) is { } s1 ? s1 - s0 : null;
        return ((process + (server ?? 0)) * 1000 / jobs, process * 1000 / jobs, server * 1000 / jobs);
    }

    public string Describe(int jobs)
    {
        var (total, process, server) = PerJob(jobs);
        return server is null
            ? $"CPU {Stats.F(process, 0)} µs per job in this process"
            : $"CPU {Stats.F(total, 0)} µs per job ({Stats.F(process, 0)} in .NET, {Stats.F(server.Value, 0)} in PostgreSQL)";
    }

    private static TimeSpan ProcessCpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static double? ServerMs(int? postmaster)
    {
        if (postmaster is not { } pm)
        {
            return null;
        }

        var own = Stat(pm.ToString(CultureInfo.InvariantCulture));
        var ticks = own.Utime + own.Stime + own.Cutime + own.Cstime;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (!name.All(char.IsAsciiDigit))
            {
                continue;
            }

            try
            {
                var stat = Stat(name);
                if (stat.Ppid == pm)
                {
                    ticks += stat.Utime + stat.Stime;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Exited meanwhile.
            }
        }

        return ticks * 1000 / TicksPerSecond;
    }

    /// <summary>Fields of /proc/PID/stat after the command name (which may hold spaces, so it is skipped up to its ')').</summary>
    private static (int Ppid, long Utime, long Stime, long Cutime, long Cstime) Stat(string pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long F(int field) => long.Parse(fields[field - 3], CultureInfo.InvariantCulture);
        return ((int)F(4), F(14), F(15), F(16), F(17));
    }
}
