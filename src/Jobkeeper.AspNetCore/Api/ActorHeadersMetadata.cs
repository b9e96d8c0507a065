namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Endpoint metadata, for API documents only: the route records who asked for the change (<c>X-Actor</c>) and why
/// (<c>X-Reason</c>), as <see cref="RequestActor"/> reads them.
/// </summary>
public sealed class ActorHeadersMetadata
{
    public static ActorHeadersMetadata Instance { get; } = new();

    public static string ActorHeader => RequestActor.ActorHeader;

    public static string ReasonHeader => RequestActor.ReasonHeader;

    private ActorHeadersMetadata()
    {
    }
}
