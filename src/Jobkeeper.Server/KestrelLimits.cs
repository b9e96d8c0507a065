using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Jobkeeper.Server;

/// <summary>
/// What Kestrel takes before the application sees a request. Past these limits Kestrel answers by itself, without
/// problem details, and closes the connection (docs/api.md, "Answers from the HTTP server" lists them).
/// </summary>
internal static class KestrelLimits
{
    /// <summary>
    /// Method, path and query. Kestrel's 8 KB default answered a 10 KB job id with a bare 414; with room for any
    /// plausible id or filter the request reaches the API, which says what an id may be.
    /// </summary>
    public const int MaxRequestLineBytes = 64 * 1024;

    public static void Configure(KestrelServerOptions kestrel, ServerSettings settings)
    {
        kestrel.Limits.MaxRequestBodySize = settings.MaxRequestBodyBytes;
        kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes;
    }

    /// <summary>
    /// A declared body over Kestrel's limit is never read, and Kestrel closes the connection after the answer
    /// rather than skip it. Whatever route answers (401, 404, 413…) says <c>Connection: close</c>, so a
    /// keep-alive client does not send its next request into a connection that is going away.
    /// </summary>
    public static void UseConnectionCloseForOversizedBodies(WebApplication app) =>
        app.Use((context, next) =>
        {
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            if (context.Request.ContentLength > limit)
            {
                var response = context.Response;
                // Set when the answer starts: an exception handler clears headers set before that.
                response.OnStarting(() =>
                {
                    response.Headers.Connection = "close";
                    return Task.CompletedTask;
                });
            }

            return next(context);
        });
}
