using Jobkeeper.AspNetCore.Security;

namespace Microsoft.AspNetCore.Builder;

public static class JobkeeperSecurityApplicationBuilderExtensions
{
    /// <summary>
    /// Authentication and authorization for an app that uses <c>AddJobkeeperApiKeys</c>, in place of <c>UseAuthentication()</c>
    /// and <c>UseAuthorization()</c>. A request to a Jobkeeper route with a valid key that has the route's role is admitted in
    /// one step; every other request goes through ASP.NET Core's two middleware as before, with the same answers (401, 403)
    /// and metrics. <paramref name="afterAuthentication"/> adds middleware that runs for every request between the two, such
    /// as <c>UseRateLimiter()</c> partitioned by the caller.
    /// </summary>
    public static IApplicationBuilder UseJobkeeperApiKeys(this IApplicationBuilder app, Action<IApplicationBuilder>? afterAuthentication = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<ApiKeyFastPath>();
        app.UseWhen(context => !ApiKeyFastPath.Admitted(context), framework => framework.UseAuthentication());
        afterAuthentication?.Invoke(app);
        app.UseWhen(context => !ApiKeyFastPath.Admitted(context), framework => framework.UseAuthorization());
        // UseWhen's branches keep their own properties, so the app would not see that the two are in its pipeline and a
        // WebApplication would add them again at its start (for every request). These are the marks they set themselves.
        app.Properties["__AuthenticationMiddlewareSet"] = true;
        app.Properties["__AuthorizationMiddlewareSet"] = true;
        return app;
    }
}
