using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Jobkeeper.Client;

namespace Jobkeeper.Server.Cli;

/// <summary>The <c>--server</c> and <c>--api-key</c> options of the client commands and how their failures are reported.</summary>
internal static class CliServer
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static Option<string?> ServerOption() => new("--server")
    {
        Description = $"Jobkeeper server URL (default {DefaultUrl}, or env JOBKEEPER_SERVER)",
    };

    public static Option<string?> ApiKeyOption() => new("--api-key")
    {
        Description = "API key, sent as Authorization: Bearer (or env JOBKEEPER_API_KEY)",
    };

    /// <summary>Adds <c>--server</c> and <c>--api-key</c> to a client command.</summary>
    public static (Option<string?> Server, Option<string?> ApiKey) Connection(Command command)
    {
        var server = ServerOption();
        var apiKey = ApiKeyOption();
        command.Options.Add(server);
        command.Options.Add(apiKey);
        return (server, apiKey);
    }

    /// <summary>
    /// Adds <c>--server</c> and <c>--api-key</c> to <paramref name="command"/> and makes <paramref name="action"/> its action,
    /// with a client of that server; refusals and connection failures are reported as by <see cref="RunAsync"/>.
    /// </summary>
    public static void OnClient(Command command, Func<ParseResult, JobkeeperClient, CancellationToken, Task<int>> action)
    {
        var (server, apiKey) = Connection(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return RunAsync(url, async () =>
            {
                using var http = CreateHttp(url, parse.GetValue(apiKey));
                return await action(parse, new JobkeeperClient(http), cancellationToken).ConfigureAwait(false);
            });
        });
    }

    /// <summary>Adds <c>--actor</c> and <c>--reason</c> to a command that changes something; they are recorded in <paramref name="recordedIn"/>.</summary>
    public static (Option<string?> Actor, Option<string?> Reason) Attribution(Command command, string recordedIn)
    {
        var actor = new Option<string?>("--actor")
        {
            Description = $"Who you are, recorded in {recordedIn} (with an API key, beside the key's name)",
        };
        var reason = new Option<string?>("--reason") { Description = $"Why, recorded in {recordedIn}" };
        command.Options.Add(actor);
        command.Options.Add(reason);
        return (actor, reason);
    }

    public static string ResolveUrl(string? url) =>
        url ?? (Environment.GetEnvironmentVariable("JOBKEEPER_SERVER") is { Length: > 0 } env ? env : DefaultUrl);

    public static HttpClient CreateHttp(string? url, string? apiKey)
    {
        var resolved = ResolveUrl(url);
        if (!Uri.TryCreate(resolved.EndsWith('/') ? resolved : resolved + "/", UriKind.Absolute, out var baseAddress)
            || baseAddress.Scheme is not ("http" or "https"))
        {
            throw new CliException($"--server '{resolved}' is not an http(s) URL");
        }

        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(100) };
        var key = apiKey ?? Environment.GetEnvironmentVariable("JOBKEEPER_API_KEY");
        if (!string.IsNullOrEmpty(key))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    /// <summary>Runs a client command: server refusals and connection failures become one line on stderr and exit 1.</summary>
    public static async Task<int> RunAsync(string? url, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync($"jobkeeper: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (JobkeeperApiException ex)
        {
            var detail = ex.Detail ?? ex.Message;
            await Console.Error.WriteLineAsync($"jobkeeper: {(int)ex.Status} {detail}").ConfigureAwait(false);
            return 1;
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused } || ex.HttpRequestError == HttpRequestError.ConnectionError)
        {
            var why = ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused } ? "connection refused" : ex.Message;
            await Console.Error.WriteLineAsync(
                $"jobkeeper: cannot connect to the Jobkeeper server at {ResolveUrl(url)} ({why}). Is it running? Set --server or JOBKEEPER_SERVER.").ConfigureAwait(false);
            return 1;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"jobkeeper: request to {ResolveUrl(url)} failed: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"jobkeeper: the server at {ResolveUrl(url)} did not answer in time").ConfigureAwait(false);
            return 1;
        }
    }
}

/// <summary>A failure the command reports as one line on stderr (exit 1).</summary>
internal sealed class CliException(string message) : Exception(message);
