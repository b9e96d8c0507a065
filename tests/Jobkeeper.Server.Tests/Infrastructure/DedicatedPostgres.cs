using System.Diagnostics;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of the test's own (scripts/postgres.sh in a temp directory), so that stopping it for an
/// outage disturbs no other test. Disposing stops it and removes its directory.
/// </summary>
public sealed class DedicatedPostgres : IAsyncDisposable
{
    private readonly string _directory;

    private DedicatedPostgres(string directory, string connectionString)
    {
        _directory = directory;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<DedicatedPostgres> StartAsync()
    {
        var directory = TempDirectory.CreatePath("jobkeeper-outage-pg");
        var output = await ScriptAsync("postgres.sh", "start", directory);
        var connection = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        return new DedicatedPostgres(directory, connection);
    }

    /// <summary>Stops the server (fast shutdown: clients are disconnected).</summary>
    public Task StopServerAsync() => RunAsync(Path.Combine(_directory, "pg_ctl.sh"), "stop");

    public Task StartServerAsync() => RunAsync(Path.Combine(_directory, "pg_ctl.sh"), "start");

    public async ValueTask DisposeAsync()
    {
        // The next dedicated server may listen on the same port, so the same connection string: a pooled connection
        // to this one would be handed out there and fail with "terminating connection due to administrator command".
        using (var connection = new Npgsql.NpgsqlConnection(ConnectionString))
        {
            Npgsql.NpgsqlConnection.ClearPool(connection);
        }

        await ScriptAsync("postgres.sh", "stop", _directory);
    }

    private static Task<string> ScriptAsync(string script, params string[] args) =>
        RunAsync("bash", [Path.Combine(ServerProcess.RepositoryRoot(), "scripts", script), .. args]);

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Clear of the suite's own server's port range, so the two never race for a port.
        start.Environment["PG_PORT"] = "56432";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }
}
