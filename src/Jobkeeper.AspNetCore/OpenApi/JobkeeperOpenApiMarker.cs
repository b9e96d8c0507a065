namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>Registered by <c>AddJobkeeperOpenApi</c>: tells <c>MapJobkeeper()</c> there is a document to serve.</summary>
internal sealed record JobkeeperOpenApiMarker(string DocumentName);
