using System.Net;
using System.Net.Sockets;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The open page survives its server going away: it says so, reconnects when the server is back, and catches up.</summary>
public sealed class ReconnectTests(BrowserFixture fixture) : DashboardTest(fixture), IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task After_a_server_restart_the_list_and_the_job_page_reconnect_and_show_what_changed()
    {
        using var data = new TempDirectory("jobkeeper-dash-restart");
        var db = data.File("jobkeeper.db");
        var port = FreePort();
        ServerProcess? restarted = null;
        var server = await ServerProcess.StartAsync(db, port: port);
        try
        {
            var type = NewType("restart");
            var running = (await server.Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
            await server.Client.PatchJobAsync(running, """{"status":"running","progress":{"fraction":0.2}}""");

            var list = await OpenListAsync(await NewPageAsync(Desktop, server: server.BaseAddress), "?type=" + type);
            var job = await OpenJobAsync(await NewTabAsync(list), running);
            await Expect(RowProgress(list, running)).ToHaveAttributeAsync("aria-valuenow", "20");

            await server.KillAsync();
            await Expect(list.Locator("#live")).Not.ToHaveTextAsync("Live");
            await Expect(job.GetByTestId("job")).Not.ToHaveAttributeAsync("data-live", "open");

            restarted = await ServerProcess.StartAsync(db, port: port);
            var created = (await restarted.Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
            await restarted.Client.PatchJobAsync(running, """{"progress":{"fraction":0.9}}""");

            // The browser retries on its own; once back, the page replays or re-reads what it missed.
            await Expect(list.Locator("#live")).ToHaveTextAsync("Live", new() { Timeout = 30_000 });
            await Expect(Row(list, created)).ToBeVisibleAsync();
            await Expect(RowProgress(list, running)).ToHaveAttributeAsync("aria-valuenow", "90");
            await Expect(job.GetByTestId("job")).ToHaveAttributeAsync("data-live", "open", new() { Timeout = 30_000 });
            await Expect(JobProgress(job)).ToHaveAttributeAsync("aria-valuenow", "90");
        }
        finally
        {
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }

            await server.DisposeAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
