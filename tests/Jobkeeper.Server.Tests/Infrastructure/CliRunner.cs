using System.Diagnostics;
using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>What one run of the <c>jobkeeper</c> command printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs the real <c>jobkeeper</c> executable (<c>dotnet jobkeeper.dll ...</c>) as a process and captures its output.</summary>
public static class CliRunner
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    public static Task<CliResult> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunAsync(environment, workingDirectory: null, DefaultTimeout, args);

    /// <summary>Runs it in <paramref name="workingDirectory"/> (where it reads and writes appsettings.json), with a deadline of its own.</summary>
    public static Task<CliResult> RunInAsync(string workingDirectory, TimeSpan timeout, params string[] args) =>
        RunAsync(null, workingDirectory, timeout, args);

    private static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string>? environment, string? workingDirectory, TimeSpan timeout,
        string[] args)
    {
        var start = new ProcessStartInfo(ServerProcess.DotnetHost())
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(ServerProcess.ServerDll());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var key in start.Environment.Keys.ToList())
        {
            if (key.StartsWith("JOBKEEPER", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"jobkeeper {string.Join(' ', args)} did not exit within {timeout}: {await stdout}{await stderr}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(null, args);
}
