using System.Text.Json.Nodes;
using Jobkeeper.Model;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>States what a job id or a queue name in a path is (the routes take any string; <see cref="JobIds"/> says which ones can exist).</summary>
internal sealed class OpenApiPathParameters : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.Parameters is null)
        {
            return Task.CompletedTask;
        }

        if (context.Description.RelativePath!.StartsWith("api/v1/queues/{name}", StringComparison.Ordinal))
        {
            foreach (var parameter in operation.Parameters.OfType<OpenApiParameter>().Where(p => p is { In: ParameterLocation.Path, Name: "name" }))
            {
                parameter.Description = $"The queue's name: 1–{JobQueues.MaxLength} of A-Z a-z 0-9 . _ : -";
                parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = JobQueues.MaxLength, Pattern = JobQueues.Pattern };
                parameter.Example = JsonValue.Create(OpenApiExamples.Queue);
            }

            return Task.CompletedTask;
        }

        if (context.Description.RelativePath!.StartsWith("api/v1/schedules/{name}", StringComparison.Ordinal))
        {
            foreach (var parameter in operation.Parameters.OfType<OpenApiParameter>().Where(p => p is { In: ParameterLocation.Path, Name: "name" }))
            {
                parameter.Description = $"The schedule's name: 1–{JobIds.MaxLength} of A-Z a-z 0-9 . _ : -";
                parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = JobIds.MaxLength, Pattern = JobIds.Pattern };
                parameter.Example = JsonValue.Create(OpenApiExamples.Schedule);
            }

            return Task.CompletedTask;
        }

        if (!context.Description.RelativePath!.StartsWith("api/v1/jobs/{id}", StringComparison.Ordinal))
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
