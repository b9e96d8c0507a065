using Jobkeeper.Storage;
using Jobkeeper.Workers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// Settings that cannot work stop the host at start (ValidateOnStart), one line per setting naming its configuration
/// key and the allowed range, before the store file is created; the SQLite store's settings bind from Jobkeeper:Sqlite.
/// </summary>
public sealed class OptionsValidationTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    public static TheoryData<string, Action<JobkeeperOptions>, string> BadValuesInCode => new()
    {
        { "zero lease", o => o.Workers.LeaseDuration = TimeSpan.Zero, "Jobkeeper:Workers:LeaseDuration must be from 00:00:01 to 01:00:00; it is 00:00:00" },
        { "no concurrency", o => o.Workers.MaxConcurrency = 0, "Jobkeeper:Workers:MaxConcurrency must be from 1 to 10000; it is 0" },
        { "jitter over 1", o => o.Workers.Retry = new RetryPolicy { Jitter = 2 }, "Jobkeeper:Workers:Retry:Jitter must be from 0 to 1; it is 2" },
        { "empty cache", o => o.Cache.MaxEntries = 0, "Jobkeeper:Cache:MaxEntries must be from 1 to 100000000; it is 0" },
        { "negative retention", o => o.Retention.Failed = -1, "Jobkeeper:Retention:Failed must be from 0 to 36500; it is -1" },
        {
            "bad queue", o => o.Workers.Queues = ["renders", "no spaces"],
            "Jobkeeper:Workers:Queues:1 must be a queue name of 1 to 100 characters of A-Z a-z 0-9 . _ : -; it is 'no spaces'"
        },
    };

    [Theory]
    [MemberData(nameof(BadValuesInCode))]
    public async Task A_bad_value_set_in_code_stops_the_host_at_start_naming_its_key(string what, Action<JobkeeperOptions> spoil, string expected)
    {
        using var host = Build(o =>
        {
            o.UseSqlite(_database.Path);
            spoil(o);
        });

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.True(expected == Assert.Single(refused.Failures), $"{what}: {string.Join(" | ", refused.Failures)}");
        Assert.False(File.Exists(_database.Path), "the store was opened although its settings were refused");
    }

    [Theory]
    [InlineData("ReadConnections", "0", "Jobkeeper:Sqlite:ReadConnections must be from 1 to 256; it is 0")]
    [InlineData("MaxBatchSize", "1000000", "Jobkeeper:Sqlite:MaxBatchSize must be from 1 to 100000; it is 1000000")]
    [InlineData("StartupCheckTimeout", "-00:00:01", "Jobkeeper:Sqlite:StartupCheckTimeout must be from 00:00:00 to 01:00:00; it is -00:00:01")]
    public async Task A_bad_store_value_from_configuration_stops_the_host_at_start_naming_its_key(string key, string value, string expected)
    {
        using var host = Build(o => o.UseSqlite(_database.Path), new() { [$"Jobkeeper:Sqlite:{key}"] = value });

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Equal(expected, Assert.Single(refused.Failures));
        Assert.False(File.Exists(_database.Path), "the store was opened although its settings were refused");
    }

    [Fact]
    public async Task Sqlite_settings_bind_from_configuration_and_code_wins_over_them()
    {
        var fromCode = System.IO.Path.Combine(_database.Directory, "from-code.db");
        var configuration = new Dictionary<string, string?> { ["Jobkeeper:Sqlite:Path"] = _database.Path, ["Jobkeeper:Sqlite:Durability"] = "Full" };

        using (var host = Build(o => o.UseSqlite(), configuration))
        {
            await host.StartAsync();
            var stats = await host.Services.GetRequiredService<IJobStore>().GetStatsAsync(CancellationToken.None);
            Assert.Equal(System.IO.Path.GetFullPath(_database.Path), stats.Location);
            await host.StopAsync();
        }

        using (var host = Build(o => o.UseSqlite(s => s.Path = fromCode), configuration))
        {
            await host.StartAsync();
            var stats = await host.Services.GetRequiredService<IJobStore>().GetStatsAsync(CancellationToken.None);
            Assert.Equal(System.IO.Path.GetFullPath(fromCode), stats.Location);
            await host.StopAsync();
        }
    }

    private static IHost Build(Action<JobkeeperOptions> configure, Dictionary<string, string?>? configuration = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration ?? []);
        builder.Services.AddJobkeeper(configure);
        return builder.Build();
    }
}
