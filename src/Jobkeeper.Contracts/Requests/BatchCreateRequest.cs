using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>The body of <c>POST /api/v1/jobs/batch</c>: up to <see cref="JobLimits.MaxBatchCreate"/> new jobs at once.</summary>
[Description("Up to 10,000 new jobs, stored in one transaction; each is answered on its own (created, duplicate id, or the field that was wrong).")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record BatchCreateRequest
{
    [Description("The jobs to create, each as in `POST /api/v1/jobs`.")]
    [MinLength(1)]
    [MaxLength(JobLimits.MaxBatchCreate)]
    public required IReadOnlyList<NewJob> Jobs { get; init; }
}
