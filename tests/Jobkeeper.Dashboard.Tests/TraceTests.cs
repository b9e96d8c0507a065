using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The job page shows the trace id of the request that created the job, to look the job up in a tracing backend.</summary>
public sealed class TraceTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task The_job_page_shows_the_trace_id_of_the_request_that_created_it()
    {
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var create = new HttpRequestMessage(HttpMethod.Post, "api/v1/jobs") { Content = Api.Json($$"""{"type":"{{NewType("trace")}}"}""") };
        create.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
        var job = await Api.ExpectJsonAsync(await Client.SendAsync(create), System.Net.HttpStatusCode.Created);
        Assert.StartsWith($"00-{traceId}-", job.Str("traceparent"));

        await OpenJobAsync(Page, job.Str("id"));
        var trace = Page.Locator("dl.facts dt:text-is('Trace') + dd");
        await Expect(trace).ToHaveTextAsync(traceId);
        await Expect(trace.Locator("code")).ToHaveAttributeAsync("title", job.Str("traceparent"));
    }
}
