namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Names the JSON shape an endpoint reads, for API documents only. Unlike <c>Accepts&lt;T&gt;</c> it does
/// not refuse requests by content type: bodies are parsed as JSON whatever the header says, so a
/// plain <c>curl -d '{...}'</c> works.
/// </summary>
public sealed class JsonRequestBodyMetadata(Type bodyType, bool Optional = false)
{
    public Type BodyType { get; } = bodyType;

    /// <summary>True when the body may be left out.</summary>
    public bool IsOptional { get; } = Optional;
}
