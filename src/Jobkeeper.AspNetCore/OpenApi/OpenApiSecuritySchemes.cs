using Jobkeeper.AspNetCore.Security;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// The two ways to present an API key (<see cref="ApiKeyAuthenticationHandler"/>): <c>Authorization: Bearer</c> and
/// <c>X-Api-Key</c>, declared once and required (either one) by every route that needs a role. Swagger UI shows its
/// Authorize button for them. A server without keys ignores both.
/// </summary>
internal sealed class OpenApiSecuritySchemes : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    public const string Bearer = "bearer";
    public const string ApiKey = "apiKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key (`jk_…`) as `Authorization: Bearer <key>`. Needed only when the server has keys configured.",
        };
        document.Components.SecuritySchemes[ApiKey] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyAuthenticationHandler.HeaderName,
            Description = "An API key (`jk_…`) in the `X-Api-Key` header. Needed only when the server has keys configured.",
        };
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var role = context.Description.ActionDescriptor.EndpointMetadata.OfType<JobkeeperRoleMetadata>().FirstOrDefault();
        if (role is null || context.Document is not { } document)
        {
            return Task.CompletedTask;
        }

        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] });
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKey, document)] = [] });
        var needs = $"With API keys on, needs the `{role.Role}` role (or `admin`).";
        operation.Description = string.IsNullOrEmpty(operation.Description) ? needs : operation.Description + "\n\n" + needs;
        return Task.CompletedTask;
    }
}
