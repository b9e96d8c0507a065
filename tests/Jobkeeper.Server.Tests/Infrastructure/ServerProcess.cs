using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// One real <c>jobkeeper serve</c> process on a loopback port: started with <c>dotnet jobkeeper.dll</c>,
/// its output captured, stopped with SIGKILL or SIGTERM. Disposing always stops a process that is
/// still running and deletes the temporary directories it created.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private const string ListeningPrefix = "Now listening on: ";
    private const int MaxKeptLines = 600;
    private static readonly TimeSpan DefaultStartupTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly List<string> _ownedDirectories;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<string> _firstLines = [];
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private readonly bool _viaDotnetRun;

    private ServerProcess(Process process, string dbPath, string workingDirectory, List<string> ownedDirectories, bool viaDotnetRun)
    {
        _process = process;
        _viaDotnetRun = viaDotnetRun;
        DbPath = dbPath;
        WorkingDirectory = workingDirectory;
        _ownedDirectories = ownedDirectories;
    }

    /// <summary>The database file the server uses (full path).</summary>
    public string DbPath { get; }

    /// <summary>The server's current directory (a fresh temp directory).</summary>
    public string WorkingDirectory { get; }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A client for <see cref="BaseAddress"/> that records every response's status (see <see cref="Responses"/>).</summary>
    public HttpClient Client { get; private set; } = null!;

    public ResponseRecorder Responses { get; } = new();

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts a server. With <paramref name="dbPath"/> it reuses that database file (a restart); without, it
    /// creates one in a fresh temp directory that is deleted on dispose.
    /// </summary>
    /// <param name="environment">Extra environment variables (e.g. JOBKEEPER__* settings).</param>
    /// <param name="prepareWorkingDirectory">Called with the working directory before start (e.g. to write an appsettings.json).</param>
    /// <param name="dbOnCommandLine">False to leave --db off the command line so configuration decides (the path is still cleaned up).</param>
    /// <param name="port">The loopback port to listen on (e.g. to restart on the port a client already uses); null for any free port.</param>
    /// <param name="viaDotnetRun">Start it as a developer does, <c>dotnet run --project src/Jobkeeper.Server -- serve</c> (the build is reused).</param>
    public static async Task<ServerProcess> StartAsync(string? dbPath = null, string? durability = null, TimeSpan? startupTimeout = null,
        IReadOnlyDictionary<string, string>? environment = null, Action<string>? prepareWorkingDirectory = null, bool dbOnCommandLine = true,
        int? port = null, bool viaDotnetRun = false)
    {
        var owned = new List<string>();
        var work = TempDirectory.CreatePath("jobkeeper-e2e-work");
        owned.Add(work);
        if (dbPath is null)
        {
            var dataDir = TempDirectory.CreatePath("jobkeeper-e2e-db");
            owned.Add(dataDir);
            dbPath = Path.Combine(dataDir, "jobkeeper.db");
        }

        dbPath = Path.GetFullPath(dbPath);
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (viaDotnetRun)
        {
            foreach (var arg in new[] { "run", "--project", Path.Combine(RepositoryRoot(), "src", "Jobkeeper.Server"), "-c", Configuration(), "--no-build", "--" })
            {
                start.ArgumentList.Add(arg);
            }
        }
        else
        {
            start.ArgumentList.Add(ServerDll());
        }

        start.ArgumentList.Add("serve");
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port ?? 0}");
        if (dbOnCommandLine)
        {
            start.ArgumentList.Add("--db");
            start.ArgumentList.Add(dbPath);
        }

        if (durability is not null)
        {
            start.ArgumentList.Add("--durability");
            start.ArgumentList.Add(durability);
        }

        // Only what the command line says: nothing inherited from the test environment may configure the server.
        foreach (var key in start.Environment.Keys.ToList())
        {
            if (key.StartsWith("JOBKEEPER", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        prepareWorkingDirectory?.Invoke(work);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new ServerProcess(process, dbPath, work, owned, viaDotnetRun);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data, server._stdoutClosed, "");
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data, server._stderrClosed, "[stderr] ");
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException("dotnet did not start.");
            }

            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await server.WaitForListeningAsync(startupTimeout ?? DefaultStartupTimeout).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Starts a server that must refuse to start and returns the failure (exit code and output). One that starts after
    /// all is stopped at once and the test fails, so no server is left running.
    /// </summary>
    public static async Task<string> StartRefusedAsync(string dbPath)
    {
        ServerProcess started;
        try
        {
            started = await StartAsync(dbPath).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }

        await started.DisposeAsync().ConfigureAwait(false);
        Assert.Fail($"The server started on {dbPath} although it should have refused to.");
        return "";
    }

    /// <summary>All captured output lines: the first ones (start-up) and the most recent ones.</summary>
    public string Output
    {
        get
        {
            string[] first;
            lock (_firstLines)
            {
                first = [.. _firstLines];
            }

            var recent = _output.ToArray();
            var text = new StringBuilder();
            text.AppendLine("--- server output (start) ---");
            foreach (var line in first)
            {
                text.AppendLine(line);
            }

            text.AppendLine("--- server output (most recent) ---");
            foreach (var line in recent)
            {
                text.AppendLine(line);
            }

            return text.ToString();
        }
    }

    public IReadOnlyList<string> RecentLines => _output.ToArray();

    /// <summary>Called with every output line as it arrives (to count lines beyond the ones kept).</summary>
    public event Action<string>? LineReceived;

    /// <summary>The recent error lines the server logged (unhandled exceptions and the like), for assertion messages.</summary>
    public string FailureLines()
    {
        var failures = _output.Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal))
            .Select(l => l.Length <= 1500 ? l : l[..1500] + "…")
            .TakeLast(5)
            .ToList();
        return failures.Count == 0 ? "(the server logged no errors)" : "server errors:\n" + string.Join("\n", failures);
    }

    /// <summary>SIGKILL (the process gets no chance to clean up), then waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                // dotnet run is only the parent of the server.
                _process.Kill(entireProcessTree: _viaDotnetRun);
            }
            catch (InvalidOperationException)
            {
                // Exited between the check and the kill.
            }
        }

        await WaitForExitAsync(ExitTimeout).ConfigureAwait(false);
    }

    /// <summary>
    /// SIGTERM (graceful shutdown), waits until the process exited and returns its exit code. With <paramref name="within"/>
    /// the exit must come that soon after the signal, else <see cref="TimeoutException"/> (the process is left running
    /// for dispose to kill).
    /// </summary>
    public async Task<int> TerminateAsync(TimeSpan? within = null)
    {
        if (!_process.HasExited && Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        await WaitForExitAsync(within ?? ExitTimeout).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            if (IsStarted() && !_process.HasExited)
            {
                await KillAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            Client?.Dispose();
            _process.Dispose();
            foreach (var directory in _ownedDirectories)
            {
                TempDirectory.Delete(directory);
            }
        }
    }

    private bool IsStarted()
    {
        try
        {
            _ = _process.Id;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private async Task WaitForExitAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Server process {_process.Id} did not exit within {within.TotalSeconds} s.\n{Output}");
        }
    }

    private async Task WaitForListeningAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var exited = _process.WaitForExitAsync(deadline.Token);
        var winner = await Task.WhenAny(_listening.Task, exited).ConfigureAwait(false);
        if (winner == _listening.Task)
        {
            BaseAddress = await _listening.Task.ConfigureAwait(false);
            Client = new HttpClient(new RecordingHandler(Responses, new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxConnectionsPerServer = 256,
                ConnectTimeout = TimeSpan.FromSeconds(10),
            }))
            {
                BaseAddress = BaseAddress,
                Timeout = TimeSpan.FromSeconds(60),
            };
            return;
        }

        if (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"The server did not report '{ListeningPrefix}…' within {timeout.TotalSeconds} s.\n{Output}");
        }

        // The process exited first: let the output readers finish so the message shows everything.
        await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        throw new InvalidOperationException($"The server exited with code {_process.ExitCode} before listening.\n{Output}");
    }

    private void OnLine(string? line, TaskCompletionSource closed, string prefix)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (_firstLines)
        {
            if (_firstLines.Count < 60)
            {
                _firstLines.Add(prefix + line);
            }
        }

        _output.Enqueue(prefix + line);
        LineReceived?.Invoke(prefix + line);
        while (_output.Count > MaxKeptLines && _output.TryDequeue(out _))
        {
        }

        var at = line.IndexOf(ListeningPrefix, StringComparison.Ordinal);
        if (at >= 0 && !_listening.Task.IsCompleted)
        {
            var address = line[(at + ListeningPrefix.Length)..].Trim();
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port > 0)
            {
                _listening.TrySetResult(uri);
            }
        }
    }

    /// <summary>The repository root: the nearest folder above the test assembly that holds Jobkeeper.slnx.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jobkeeper.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Jobkeeper.slnx above {AppContext.BaseDirectory}.");
    }

    internal static string ServerDll()
    {
        var configuration = Configuration();
        var path = Path.Combine(RepositoryRoot(), "src", "Jobkeeper.Server", "bin", configuration, "net10.0", "jobkeeper.dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"The server is not built for {configuration}: {path} is missing. Run dotnet build first.", path);
    }

    /// <summary>The build configuration of these tests (and so of the server they start).</summary>
    private static string Configuration()
    {
        var configuration = typeof(ServerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
        return string.IsNullOrEmpty(configuration) ? "Debug" : configuration;
    }

    internal static string DotnetHost()
    {
        // Set by the SDK for tools and tests it runs; otherwise the host running these tests is dotnet itself.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? self
            : "dotnet";
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
