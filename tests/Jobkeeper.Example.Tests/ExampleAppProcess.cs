using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Jobkeeper.Example.Tests;

/// <summary>
/// The real example app as a child process on a free port. Disposing kills it (with anything it
/// started) and waits for it to exit; <see cref="Output"/> keeps what it printed, for failure messages.
/// </summary>
internal sealed class ExampleAppProcess : IAsyncDisposable
{
    private const string ListeningMarker = "Now listening on: ";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ExampleAppProcess(Process process) => _process = process;

    public HttpClient Http { get; private set; } = null!;

    public string Output => string.Join(Environment.NewLine, _output);

    public static Task<ExampleAppProcess> StartAsync(string dbPath, int stepDelayMs) =>
        StartAsync(new ExampleAppSettings(dbPath) { StepDelayMs = stepDelayMs });

    public static async Task<ExampleAppProcess> StartAsync(ExampleAppSettings settings)
    {
        var dll = ExamplePaths.AppDll;
        var start = new ProcessStartInfo(ExamplePaths.DotnetHost)
        {
            // The app's folder is its content root, so its appsettings.json applies as in a normal run.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "--urls", "http://127.0.0.1:0" }.Concat(settings.ToArguments()))
        {
            start.ArgumentList.Add(arg);
        }

        var app = new ExampleAppProcess(new Process { StartInfo = start, EnableRaisingEvents = true });
        try
        {
            await app.LaunchAsync();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>
    /// Asks the app to stop as a service manager would (SIGTERM: a graceful shutdown) and waits up to
    /// <paramref name="timeout"/> for it to exit; returns how long that took.
    /// </summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        if (Signal(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The example app did not exit within {timeout.TotalSeconds} s of SIGTERM.{Environment.NewLine}{Output}");
        }

        return clock.Elapsed;
    }

    /// <summary>Kills the process at once (SIGKILL), as a crash would, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started, or exited meanwhile.
            return;
        }

        using var timeout = new CancellationTokenSource(ExitTimeout);
        await _process.WaitForExitAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            Http?.Dispose();
            _process.Dispose();
        }
    }

    private async Task LaunchAsync()
    {
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) => _listening.TrySetException(
            new InvalidOperationException($"The example app exited before it listened.{Environment.NewLine}{Output}"));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        Uri address;
        try
        {
            address = await _listening.Task.WaitAsync(StartTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The example app did not listen within {StartTimeout.TotalSeconds} s.{Environment.NewLine}{Output}");
        }

        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        var at = line.IndexOf(ListeningMarker, StringComparison.Ordinal);
        if (at >= 0 && Uri.TryCreate(line[(at + ListeningMarker.Length)..].Trim(), UriKind.Absolute, out var address))
        {
            _listening.TrySetResult(address);
        }
    }
}
