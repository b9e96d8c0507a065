using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Jobkeeper.Packaging.Tests.Infrastructure;

/// <summary>
/// A program that serves HTTP (the embedded app, the installed tool), started on port 0: its address is read from the
/// "Now listening on:" line ASP.NET Core logs. Disposing kills it and waits until it is gone.
/// </summary>
public sealed partial class ListeningProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ListeningProcess(Process process)
    {
        _process = process;
    }

    public Uri Address { get; private set; } = null!;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<ListeningProcess> StartAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = Command.StartInfo(fileName, arguments, workingDirectory, environment);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var listening = new ListeningProcess(process);
        process.OutputDataReceived += (_, e) => listening.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => listening.OnLine(e.Data);
        process.Exited += (_, _) => listening._listening.TrySetException(new InvalidOperationException($"{fileName} exited before it listened."));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            listening.Address = await listening._listening.Task.WaitAsync(timeout);
            return listening;
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var output = listening.Output;
            await listening.DisposeAsync();
            throw new InvalidOperationException($"{fileName} {string.Join(' ', start.ArgumentList)} did not start listening ({ex.Message}):\n{output}", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync(CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
