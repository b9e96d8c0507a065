namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// Test classes that start their own PostgreSQL server (<see cref="DedicatedPostgres"/>) and stop it or terminate its
/// backends: they run one after another, so one's server, port or terminations never meet another's, and two
/// clusters never start at once on the two cores.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DedicatedPostgresCollection
{
    public const string Name = "dedicated postgres";
}
