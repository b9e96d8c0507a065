using System.Net;
using System.Net.Sockets;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>How the executable configures itself when started from an arbitrary directory (as a service is).</summary>
public sealed class ServerConfigurationTests
{
    /// <summary>
    /// The shipped appsettings.json sets "Microsoft.AspNetCore": "Warning", so a request must not be logged
    /// at Information ("Request starting …"). The server here runs with a current directory that is not
    /// its install directory, like a service or a container with another WORKDIR.
    /// </summary>
    [Fact]
    public async Task Shipped_appsettings_apply_when_started_from_another_directory()
    {
        await using var server = await ServerProcess.StartAsync();
        Assert.NotEqual(Path.GetDirectoryName(typeof(ServerProcess).Assembly.Location), server.WorkingDirectory);
        using (var response = await server.Client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Stop gracefully so every line the server logged has been read before looking at them.
        Assert.Equal(0, await server.TerminateAsync());
        var output = server.Output;
        Assert.Contains("Application is shutting down", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.AspNetCore.Hosting.Diagnostics", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Request starting", output, StringComparison.Ordinal);
    }

    /// <summary>A database file that is no SQLite database: the server refuses to start, says why, exits non-zero.</summary>
    [Fact]
    public async Task A_server_that_cannot_open_its_database_exits_non_zero_with_the_reason()
    {
        using var data = new TempDirectory("jobkeeper-e2e-baddb");
        var db = data.File("jobkeeper.db");
        await File.WriteAllTextAsync(db, "this is not a database, just text long enough to be read as a header........");

        var error = await ServerProcess.StartRefusedAsync(db);
        Assert.Contains("exited with code 1", error, StringComparison.Ordinal);
        Assert.Contains("file is not a database", error, StringComparison.Ordinal);
        Assert.Contains("jobkeeper: cannot start", error, StringComparison.Ordinal);
        Assert.Equal("this is not a database, just text long enough to be read as a header........", await File.ReadAllTextAsync(db));
    }

    /// <summary>
    /// Settings come from the working directory's appsettings.json, then JOBKEEPER__* variables, then the
    /// command line; the start-up log names the store, the cache settings and the sweep schedule.
    /// </summary>
    [Fact]
    public async Task Settings_layer_appsettings_then_environment_and_the_start_is_logged()
    {
        using var data = new TempDirectory("jobkeeper-e2e-config");
        var fromEnvironment = data.File("from-env.db");
        await using var server = await ServerProcess.StartAsync(
            dbPath: fromEnvironment,
            dbOnCommandLine: false,
            environment: new Dictionary<string, string>
            {
                ["JOBKEEPER__DB"] = fromEnvironment,
                ["JOBKEEPER__CACHE__SWEEPINTERVAL"] = "00:02:00",
            },
            prepareWorkingDirectory: work => File.WriteAllText(Path.Combine(work, "appsettings.json"),
                """{ "Jobkeeper": { "Db": "from-appsettings.db", "Cache": { "MaxEntries": 500, "SweepInterval": "00:09:00" } } }"""));

        using var health = await server.Client.GetAsync("/health");
        var json = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(fromEnvironment, json.GetProperty("store").GetProperty("location").GetString());
        Assert.False(File.Exists(Path.Combine(server.WorkingDirectory, "from-appsettings.db")));

        Assert.Equal(0, await server.TerminateAsync());
        var output = server.Output;
        Assert.Contains($"Store sqlite at {fromEnvironment}: schema version 13, 0 jobs", output, StringComparison.Ordinal);
        Assert.Contains("Cache: up to 500 jobs, entries expire 60 min after last use", output, StringComparison.Ordinal);
        Assert.Contains("Cache sweep every 2 min", output, StringComparison.Ordinal);
        Assert.Contains("closed after draining pending writes", output, StringComparison.Ordinal);
    }

    /// <summary>With nothing configured the store is ./data/jobkeeper.db under the working directory, owner-only.</summary>
    [Fact]
    public async Task The_default_store_is_data_jobkeeper_db_readable_by_its_owner_only()
    {
        await using var server = await ServerProcess.StartAsync(dbOnCommandLine: false);
        var expected = Path.Combine(server.WorkingDirectory, "data", "jobkeeper.db");
        using var health = await server.Client.GetAsync("/health");
        var json = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(expected, json.GetProperty("store").GetProperty("location").GetString());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(expected));
        }
    }

    /// <summary>A mistake in how the server is started is one line that says what is wrong, and a non-zero exit.</summary>
    [Theory]
    [InlineData("--postgres", "Host=localhost;Port=abc;;==", "The PostgreSQL connection string is not valid")]
    [InlineData("--urls", "8080", "'8080' is not an address to listen on; give scheme, host and port, e.g. http://127.0.0.1:8080")]
    [InlineData("--durability", "fast", "'fast' is not a durability level; use normal (survives a process crash) or full (also survives power loss)")]
    public async Task A_start_up_mistake_is_one_clear_line_and_a_non_zero_exit(string option, string value, string expected)
    {
        using var data = new TempDirectory("jobkeeper-e2e-mistake");
        var db = data.File(Path.Combine("data", "jobkeeper.db"));
        var result = await CliRunner.RunAsync("serve", option, value, "--db", db);

        Assert.True(result.ExitCode != 0, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.StartsWith("jobkeeper", line, StringComparison.Ordinal);
        Assert.DoesNotContain("API keys", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Jobkeeper.Sqlite", line, StringComparison.Ordinal);
        Assert.True(string.IsNullOrWhiteSpace(result.Stdout), result.ToString());
        Assert.False(File.Exists(db), "the database was created although the server could not start");
    }

    /// <summary>An OTLP setting that cannot work is refused at start, naming the setting and what it may be.</summary>
    [Theory]
    [InlineData("JOBKEEPER__OTLP__ENDPOINT", "collector:4317", "Jobkeeper:Otlp:Endpoint: 'collector:4317' is not an http:// or https:// address")]
    [InlineData("JOBKEEPER__OTLP__PROTOCOL", "udp", "Jobkeeper:Otlp:Protocol: 'udp' is not an OTLP protocol; use grpc or http/protobuf")]
    public async Task A_bad_otlp_setting_is_one_clear_line_and_a_non_zero_exit(string variable, string value, string expected)
    {
        using var data = new TempDirectory("jobkeeper-e2e-otlp");
        var db = data.File(Path.Combine("data", "jobkeeper.db"));
        var environment = new Dictionary<string, string> { ["JOBKEEPER__OTLP__ENDPOINT"] = "http://127.0.0.1:4317", [variable] = value };
        var result = await CliRunner.RunAsync(environment, "serve", "--db", db);

        Assert.True(result.ExitCode != 0, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(File.Exists(db), "the database was created although the server could not start");
    }

    /// <summary>
    /// A value out of range, wherever it is set, stops <c>jobkeeper serve</c> before anything is created: exit 2 and
    /// one line naming the key and the allowed range, no stack trace.
    /// </summary>
    [Theory]
    [InlineData("JOBKEEPER__WORKERS__LEASEDURATION", "00:00:00", "Jobkeeper:Workers:LeaseDuration must be from 00:00:01 to 01:00:00; it is 00:00:00")]
    [InlineData("JOBKEEPER__CACHE__MAXENTRIES", "0", "Jobkeeper:Cache:MaxEntries must be from 1 to 100000000; it is 0")]
    [InlineData("JOBKEEPER__SQLITE__READCONNECTIONS", "0", "Jobkeeper:Sqlite:ReadConnections must be from 1 to 256; it is 0")]
    [InlineData("JOBKEEPER__MAXREQUESTBODYBYTES", "10", "Jobkeeper:MaxRequestBodyBytes must be from 1024 to 1073741824; it is 10")]
    public async Task A_value_out_of_range_is_one_line_naming_the_key_and_exit_2(string variable, string value, string expected)
    {
        using var data = new TempDirectory("jobkeeper-e2e-range");
        var db = data.File(Path.Combine("data", "jobkeeper.db"));
        var result = await CliRunner.RunAsync(new Dictionary<string, string> { [variable] = value }, "serve", "--urls", "http://127.0.0.1:0", "--db", db);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal($"jobkeeper: invalid configuration: {expected}", line);
        Assert.False(Directory.Exists(Path.GetDirectoryName(db)), "the database directory was created although the settings were refused");
    }

    /// <summary>The SQLite store's own section, Jobkeeper:Sqlite, configures the server as the older Jobkeeper:Db does.</summary>
    [Fact]
    public async Task The_sqlite_section_of_configuration_sets_the_store()
    {
        using var data = new TempDirectory("jobkeeper-e2e-sqlite-section");
        var db = data.File("section.db");
        await using var server = await ServerProcess.StartAsync(dbPath: db, dbOnCommandLine: false,
            environment: new Dictionary<string, string> { ["JOBKEEPER__SQLITE__PATH"] = db });

        using var health = await server.Client.GetAsync("/health");
        var json = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(db, json.GetProperty("store").GetProperty("location").GetString());
    }

    /// <summary>A port another process listens on is refused before the database file is created.</summary>
    [Fact]
    public async Task A_port_in_use_is_one_line_and_no_database_is_created()
    {
        using var data = new TempDirectory("jobkeeper-e2e-port");
        var db = data.File(Path.Combine("data", "jobkeeper.db"));
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = await CliRunner.RunAsync("serve", "--urls", $"http://127.0.0.1:{port}", "--db", db);
        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal($"jobkeeper: cannot start: cannot listen on http://127.0.0.1:{port}: port {port} is already in use by another process "
            + "(another jobkeeper serve?). Stop it, or choose another port with --urls.", line);
        Assert.False(Directory.Exists(Path.GetDirectoryName(db)), "the database directory was created although the port was taken");
    }

    /// <summary>
    /// <c>dotnet run --project src/Jobkeeper.Server -- serve</c> from another directory (the repository root, say) keeps
    /// ./data and ./appsettings.json in that directory, as the installed executable does, and says where everything is.
    /// </summary>
    [Fact]
    public async Task Dotnet_run_keeps_data_and_settings_in_the_directory_it_was_run_from_and_says_where_everything_is()
    {
        await using var server = await ServerProcess.StartAsync(dbOnCommandLine: false, viaDotnetRun: true, startupTimeout: TimeSpan.FromSeconds(90),
            prepareWorkingDirectory: work => File.WriteAllText(Path.Combine(work, "appsettings.json"),
                """{ "Jobkeeper": { "Cache": { "MaxEntries": 321 } } }"""));
        var expected = Path.Combine(server.WorkingDirectory, "data", "jobkeeper.db");
        using (var health = await server.Client.GetAsync("/health"))
        {
            var json = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(expected, json.GetProperty("store").GetProperty("location").GetString());
        }

        Assert.Equal(0, await server.TerminateAsync());
        var output = server.Output;
        var root = server.BaseAddress.ToString().TrimEnd('/');
        Assert.Contains($"Store sqlite at {expected}", output, StringComparison.Ordinal);
        Assert.Contains("Cache: up to 321 jobs", output, StringComparison.Ordinal);
        Assert.Contains($"Working directory {server.WorkingDirectory}; settings read from ", output, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(server.WorkingDirectory, "appsettings.json"), output, StringComparison.Ordinal);
        Assert.Contains($"Dashboard {root}/  API docs {root}/docs  Health {root}/health", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(ServerProcess.RepositoryRoot(), "src", "Jobkeeper.Server", "data")));
    }
}
