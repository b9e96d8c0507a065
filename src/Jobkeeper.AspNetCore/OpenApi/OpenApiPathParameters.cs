using System.Text.Json.Nodes;
using Jobkeeper.Model;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>States what a job id in a path is (the routes take any string; <see cref="JobIds"/> says which ones can exist).</summary>
internal sealed class OpenApiPathParameters : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.Parameters is null || !context.Description.RelativePath!.StartsWith("api/v1/jobs/{id}", StringComparison.Ordinal))
        {
            return Task.CompletedTask;
        }

        foreach (var parameter in operation.Parameters.OfType<OpenApiParameter>())
        {
            if (parameter is { In: ParameterLocation.Path, Name: "id" })
            {
                parameter.Description = $"The job id: 1–{JobIds.MaxLength} of A-Z a-z 0-9 . _ : -";
                parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = JobIds.MaxLength, Pattern = JobIds.Pattern };
                parameter.Example = JsonValue.Create(OpenApiExamples.JobId);
            }
        }

        return Task.CompletedTask;
    }
}
