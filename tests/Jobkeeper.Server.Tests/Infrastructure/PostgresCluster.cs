using Jobkeeper.Postgres.Tests;
using Npgsql;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// Several real <c>jobkeeper serve</c> processes on one fresh PostgreSQL database (JOBKEEPER__POSTGRES), started
/// side by side. Disposing stops every process still running, then drops the database.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly TestDatabase _database;
    private readonly ServerProcess[] _servers;
    private int _disposed;

    private PostgresCluster(TestDatabase database, ServerProcess[] servers)
    {
        _database = database;
        _servers = servers;
    }

    /// <summary>The instances, in start order (the tests call them A, B, C...).</summary>
    public IReadOnlyList<ServerProcess> Servers => _servers;

    public ServerProcess this[int index] => _servers[index];

    public string ConnectionString => _database.ConnectionString;

    /// <summary>
    /// Creates a database and starts <paramref name="instances"/> servers on it at once (they migrate it together),
    /// with <paramref name="environment"/> added to each one's environment. Checks every instance reports the PostgreSQL store.
    /// </summary>
    public static async Task<PostgresCluster> StartAsync(int instances, IReadOnlyDictionary<string, string>? environment = null)
    {
        var database = await TestDatabase.CreateAsync();
        var settings = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["JOBKEEPER__POSTGRES"] = database.ConnectionString,
        };
        var starting = Enumerable.Range(0, instances).Select(_ => ServerProcess.StartAsync(environment: settings)).ToArray();
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var start in starting.Where(s => s.IsCompletedSuccessfully))
            {
                await start.Result.DisposeAsync();
            }

            await database.DisposeAsync();
            throw;
        }

        var cluster = new PostgresCluster(database, [.. starting.Select(s => s.Result)]);
        try
        {
            foreach (var server in cluster._servers)
            {
                var health = await server.Client.GetJsonAsync("/health");
                var store = health.GetProperty("store");
                Assert.True(store.Str("provider") == "postgres", $"instance {server.BaseAddress} does not use PostgreSQL: {health}\n{server.Output}");
                Assert.EndsWith("/" + database.Name, store.Str("location"), StringComparison.Ordinal);
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>A connection of the test's own to the cluster's database, open.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>
    /// Runs a query on the database and reads every row with <paramref name="read"/>. Pass an array parameter cast to
    /// <see cref="object"/> (<c>(object)ids</c>), or it becomes the parameter list itself.
    /// </summary>
    public async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, params object[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public async Task<long> ScalarAsync(string sql, params object[] parameters) =>
        (await QueryAsync(sql, r => r.IsDBNull(0) ? 0L : Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), parameters))[0];

    /// <summary>Every output line of every instance, for failure messages.</summary>
    public string Output() => string.Join("\n", _servers.Select((s, i) => $"=== instance {i} ({s.BaseAddress}, exited: {s.HasExited})\n{s.Output}"));

    /// <summary>The 5xx responses any instance still running gave the tests' clients.</summary>
    public IReadOnlyList<string> ServerErrors(params ServerProcess[] except) =>
        [.. _servers.Where(s => !except.Contains(s)).SelectMany(s => s.Responses.ServerErrorsSince(0).Select(r => $"{s.BaseAddress}: {r}"))];

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await Task.WhenAll(_servers.Select(s => s.DisposeAsync().AsTask()));
        }
        finally
        {
            await _database.DisposeAsync();
        }
    }
}
