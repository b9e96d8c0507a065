using System.Diagnostics;
using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>Runs one <c>jobkeeper</c> operator command (<c>dotnet jobkeeper.dll ...</c>) to its end; killed if it outlives the timeout.</summary>
public static class JobkeeperCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(ServerProcess.DotnetHost())
        {
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

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("JOBKEEPER", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"jobkeeper {string.Join(' ', args)} did not finish in 2 minutes:\n{await stdout}\n{await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
