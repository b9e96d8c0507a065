using Jobkeeper.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Postgres.Tests;

/// <summary>The PostgreSQL store's settings bind from Jobkeeper:Postgres and are refused at start when they cannot work.</summary>
public sealed class PostgresOptionsTests
{
    [Theory]
    [InlineData("Writers", "0", "Jobkeeper:Postgres:Writers must be from 1 to 64; it is 0")]
    [InlineData("Timeout", "00:00:00", "Jobkeeper:Postgres:Timeout must be from 00:00:00.1000000 to 00:10:00; it is 00:00:00")]
    public async Task A_bad_value_from_configuration_stops_the_host_at_start_naming_its_key(string key, string value, string expected)
    {
        // Refused before any connection is made: the address need not exist.
        using var host = Build(o => o.UsePostgres("Host=127.0.0.1;Port=1;Database=none"), new() { [$"Jobkeeper:Postgres:{key}"] = value });

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Equal(expected, Assert.Single(refused.Failures));
    }

    [Fact]
    public async Task The_connection_string_binds_from_configuration()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var host = Build(o => o.UsePostgres(), new()
        {
            ["Jobkeeper:Postgres:ConnectionString"] = database.ConnectionString,
            ["Jobkeeper:Postgres:Writers"] = "1",
        });

        await host.StartAsync();
        var stats = await host.Services.GetRequiredService<IJobStore>().GetStatsAsync(CancellationToken.None);
        Assert.Equal("postgres", stats.Provider);
        await host.StopAsync();
    }

    private static IHost Build(Action<JobkeeperOptions> configure, Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddJobkeeper(configure);
        return builder.Build();
    }
}
