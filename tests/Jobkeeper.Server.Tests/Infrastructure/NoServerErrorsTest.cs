namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// Base of tests whose requests must never get a 5xx (bad input is never the server's fault): each test
/// checks, when it ends, the responses it caused on the shared server.
/// </summary>
public abstract class NoServerErrorsTest(ServerFixture fixture) : IAsyncLifetime
{
    private long _mark;

    protected ServerFixture Fixture => fixture;

    protected HttpClient Client => fixture.Client;

    public Task InitializeAsync()
    {
        _mark = fixture.Server.Responses.Count;
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        var errors = fixture.Server.Responses.ServerErrorsSince(_mark);
        Assert.True(errors.Count == 0, "5xx responses to client input:\n" + string.Join("\n", errors) + "\n" + fixture.Server.Output);
        return Task.CompletedTask;
    }
}
