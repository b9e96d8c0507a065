using Jobkeeper.AspNetCore.Dashboard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

public static class DashboardEndpointRouteBuilderExtensions
{
    private static readonly string[] ReadMethods = ["GET", "HEAD"];

    /// <summary>
    /// Maps the web dashboard: <c>/</c> (the page) and <c>/dashboard/{file}</c> (its scripts and styles), all embedded in
    /// this assembly. The page calls the API of <c>MapJobkeeper()</c> on the same origin. Returns the group, so conventions
    /// such as authorization apply to the page and its files alike.
    /// </summary>
    public static RouteGroupBuilder MapJobkeeperDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("");
        group.MapMethods("/", ReadMethods, DashboardEndpoints.Index).WithName("Dashboard");
        group.MapMethods("/dashboard/{*file}", ReadMethods, DashboardEndpoints.File).WithName("DashboardFile");
        group.ExcludeFromDescription();
        return group;
    }
}
