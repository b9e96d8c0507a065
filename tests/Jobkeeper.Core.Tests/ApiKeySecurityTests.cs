using System.Security.Claims;
using Jobkeeper.AspNetCore.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Core.Tests;

/// <summary>
/// The parts of API key access control that answer every request from state made once: the shared principal of a key, the
/// role requirement that stands for RequireAuthenticatedUser + RequireRole(role, admin), and the scheme provider's cache.
/// </summary>
public sealed class ApiKeySecurityTests
{
    private static ApiKeyOptions Options(params (string Name, string[] Roles)[] keys) => new()
    {
        Keys = [.. keys.Select(k => new ApiKeyEntry { Name = k.Name, Hash = ApiKeyHash.Format("jk_" + k.Name), Roles = [.. k.Roles] })],
    };

    [Fact]
    public async Task A_key_has_one_principal_with_its_name_and_roles_that_no_request_can_change()
    {
        var parsed = Options(("ops", ["read", "submit"])).Parsed;
        var principal = (await parsed[0].Authenticated).Principal!;
        Assert.Same(principal, (await parsed[0].Authenticated).Principal);
        Assert.Equal("ops", principal.Identity!.Name);
        Assert.True(principal.Identity.IsAuthenticated);
        Assert.Equal(ApiKeyAuthenticationHandler.SchemeName, principal.Identity.AuthenticationType);
        Assert.True(principal.IsInRole("read"));
        Assert.True(principal.IsInRole("submit"));
        Assert.False(principal.IsInRole("admin"));
        Assert.False(principal.IsInRole("Read"));
        Assert.Equal(["read", "submit"], principal.FindAll(ClaimTypes.Role).Select(c => c.Value));
        Assert.False(principal.HasClaim(c => c.Type == ApiKeyAuthenticationHandler.OpenClaim));

        Assert.Throws<InvalidOperationException>(() => principal.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.Role, "admin")], "x")));
        var identity = (ClaimsIdentity)principal.Identity;
        Assert.Throws<InvalidOperationException>(() => identity.AddClaim(new Claim(ClaimTypes.Role, "admin")));
        Assert.Throws<InvalidOperationException>(() => identity.RemoveClaim(identity.FindFirst(ClaimTypes.Role)));
        Assert.False(principal.IsInRole("admin"));

        // A copy can be changed, as an IClaimsTransformation would.
        var copy = principal.Clone();
        copy.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.Role, "admin")], "x"));
        Assert.True(copy.IsInRole("admin"));
        Assert.False(principal.IsInRole("admin"));
    }

    [Fact]
    public async Task Open_mode_has_one_admin_principal_marked_open()
    {
        var principal = (await ApiKeyOptions.OpenResult).Principal!;
        Assert.Same(principal, (await ApiKeyOptions.OpenResult).Principal);
        Assert.Equal("open", principal.Identity!.Name);
        Assert.True(principal.IsInRole(JobkeeperRoles.Admin));
        Assert.True(principal.HasClaim(c => c.Type == ApiKeyAuthenticationHandler.OpenClaim));
    }

    [Theory]
    [InlineData("read", new[] { "read" }, true, true)]
    [InlineData("read", new[] { "admin" }, true, true)]
    [InlineData("read", new[] { "submit", "work" }, true, false)]
    [InlineData("submit", new[] { "read" }, true, false)]
    [InlineData("read", new[] { "Read" }, true, false)]
    [InlineData("read", new[] { "read" }, false, false)]
    [InlineData("read", new[] { "admin" }, false, false)]
    public async Task The_role_requirement_needs_an_authenticated_caller_with_the_role_or_admin(string needed, string[] roles, bool authenticated, bool allowed)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "k"), .. roles.Select(r => new Claim(ClaimTypes.Role, r))],
            authenticated ? "test" : null);
        var plain = new ClaimsPrincipal(identity);
        var requirement = new JobkeeperRoleRequirement(needed);
        var context = new AuthorizationHandlerContext([requirement], plain, null);
        await requirement.HandleAsync(context);
        Assert.Equal(allowed, context.HasSucceeded);

        if (authenticated)
        {
            // The same answer for the shared principal of a key with those roles.
            var shared = (await Options(("k", roles)).Parsed[0].Authenticated).Principal!;
            var sharedContext = new AuthorizationHandlerContext([requirement], shared, null);
            await requirement.HandleAsync(sharedContext);
            Assert.Equal(allowed, sharedContext.HasSucceeded);
        }
    }

    [Fact]
    public async Task The_role_requirement_accepts_any_authenticated_identity_as_RequireAuthenticatedUser_does()
    {
        var user = new ClaimsPrincipal(new ClaimsIdentity());
        user.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.Role, "read")], "second"));
        var requirement = new JobkeeperRoleRequirement("read");
        var context = new AuthorizationHandlerContext([requirement], user, null);
        await requirement.HandleAsync(context);
        Assert.True(context.HasSucceeded);
    }

    [Fact]
    public async Task The_scheme_provider_answers_from_its_cache_and_sees_schemes_added_and_removed()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new AuthenticationOptions());
        options.Value.AddScheme("a", s => s.HandlerType = typeof(NoHandler));
        var provider = new CachingAuthenticationSchemeProvider(options);

        var first = provider.GetSchemeAsync("a");
        Assert.Same(first, provider.GetSchemeAsync("a"));
        Assert.Equal("a", (await first)!.Name);
        Assert.Null(await provider.GetSchemeAsync("b"));
        Assert.Empty(await provider.GetRequestHandlerSchemesAsync());

        provider.AddScheme(new AuthenticationScheme("b", null, typeof(RequestHandler)));
        Assert.Equal("b", (await provider.GetSchemeAsync("b"))!.Name);
        Assert.Equal(["b"], (await provider.GetRequestHandlerSchemesAsync()).Select(s => s.Name));

        Assert.Equal("a", (await provider.GetSchemeAsync("a"))!.Name);
        provider.RemoveScheme("a");
        Assert.Null(await provider.GetSchemeAsync("a"));
        Assert.True(provider.TryAddScheme(new AuthenticationScheme("a", null, typeof(NoHandler))));
        Assert.Equal("a", (await provider.GetSchemeAsync("a"))!.Name);
    }

    [Fact]
    public async Task The_handler_made_per_request_logs_through_the_app_s_logging_and_authenticates_as_before()
    {
        var logs = new CapturingLoggerProvider();
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, TimeProvider.System);
        Microsoft.Extensions.DependencyInjection.LoggingServiceCollectionExtensions.AddLogging(services,
            b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        Microsoft.Extensions.DependencyInjection.JobkeeperSecurityServiceCollectionExtensions.AddJobkeeperApiKeys(services,
            [new ApiKeyEntry { Name = "ops", Hash = ApiKeyHash.Format("jk_right"), Roles = ["read"] }]);
        await using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);

        async Task<AuthenticateResult> AuthenticateAsync(string key)
        {
            await using var scope = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.CreateAsyncScope(provider);
            var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
            http.Request.Headers.Authorization = "Bearer " + key;
            return await http.AuthenticateAsync();
        }

        var wrong = await AuthenticateAsync("jk_wrong");
        Assert.False(wrong.Succeeded);
        Assert.Equal("The API key is not valid.", wrong.Failure?.Message);
        var right = await AuthenticateAsync("jk_right");
        Assert.True(right.Succeeded);
        Assert.Equal("ops", right.Principal!.Identity!.Name);
        Assert.Same(right.Principal, (await AuthenticateAsync("jk_right")).Principal);

        // The handler's own log lines (ASP.NET Core's, under the handler's type name) still reach the app's providers.
        Assert.Contains(logs.Lines, l => l.Category == typeof(ApiKeyAuthenticationHandler).FullName && l.Text.Contains("was not authenticated", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Category == typeof(ApiKeyAuthenticationHandler).FullName && l.Text.Contains("was successfully authenticated", StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : Microsoft.Extensions.Logging.ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string Category, string Text)> Lines { get; } = new();

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : Microsoft.Extensions.Logging.ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

            public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
                Exception? exception, Func<TState, Exception?, string> formatter) => provider.Lines.Enqueue((category, formatter(state, exception)));
        }
    }

    private class NoHandler : IAuthenticationHandler
    {
        public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context) => Task.CompletedTask;

        public Task<AuthenticateResult> AuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());

        public Task ChallengeAsync(AuthenticationProperties? properties) => Task.CompletedTask;

        public Task ForbidAsync(AuthenticationProperties? properties) => Task.CompletedTask;
    }

    private sealed class RequestHandler : NoHandler, IAuthenticationRequestHandler
    {
        public Task<bool> HandleRequestAsync() => Task.FromResult(false);
    }
}
