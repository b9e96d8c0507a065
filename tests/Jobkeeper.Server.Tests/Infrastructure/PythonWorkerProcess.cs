using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// <c>python3 examples/python-worker/worker.py</c> as a child process, its output captured. Disposing
/// always kills a process that is still running and waits until it is gone.
/// </summary>
public sealed class PythonWorkerProcess : IAsyncDisposable
{
    private const int SigInt = 2;
    private const int SigTerm = 15;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private int _disposed;

    private PythonWorkerProcess(Process process)
    {
        _process = process;
    }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join("\n", _output);

    public static string ScriptPath => Path.Combine(ServerProcess.RepositoryRoot(), "examples", "python-worker", "worker.py");

    /// <param name="environment">Variables to set for the worker (e.g. JOBKEEPER_API_KEY); none is inherited from the test's environment.</param>
    /// <param name="script">The Python script to run; the example worker when null.</param>
    public static PythonWorkerProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? script = null)
    {
        script ??= ScriptPath;
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = Path.GetDirectoryName(script)!,
        };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("JOBKEEPER_URL");
        start.Environment.Remove("JOBKEEPER_API_KEY");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["PYTHONUNBUFFERED"] = "1";

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var worker = new PythonWorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => worker.OnLine(e.Data);
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException("python3 did not start.");
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException($"python3 could not be started ({ex.Message}); these tests need Python 3.11+ on PATH.", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Waits for the process to exit and returns its exit code; fails the test (output included) after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The python worker (pid {_process.Id}) did not exit within {timeout.TotalSeconds} s. Its output:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGTERM: the worker stops claiming, lets running jobs finish for its grace period and releases the rest.</summary>
    public void Terminate() => Signal(SigTerm, "SIGTERM");

    /// <summary>SIGINT, as Ctrl+C sends it: the same stop as SIGTERM.</summary>
    public void Interrupt() => Signal(SigInt, "SIGINT");

    private void Signal(int number, string name)
    {
        if (!_process.HasExited && Kill(_process.Id, number) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {name}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                try
                {
                    _process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Exited between the check and the kill.
                }

                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _process.WaitForExitAsync(deadline.Token);
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 2000 && _output.TryDequeue(out _))
        {
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
