using System.Reflection;
using System.Runtime.Loader;
using Jobkeeper.Server.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// A client generated from the served document with NSwag (a standard generator, used here as a library: nothing to
/// install beyond the test's packages) compiles, and lists jobs from a real server with a status filter, following
/// the cursor page by page.
/// </summary>
public sealed class GeneratedClientTests(ServerFixture fixture, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    /// <summary>Typed code against the generated client, compiled with it: what a user of the generated client writes.</summary>
    private const string Usage = """
        using System.Collections.Generic;
        using System.Net.Http;
        using System.Threading.Tasks;

        namespace Generated;

        public static class Usage
        {
            /// <summary>Every queued job of <paramref name="type"/>, page by page, <paramref name="pageSize"/> at a time; and the page count.</summary>
            public static async Task<(List<string> Ids, int Pages)> ListQueuedAsync(HttpClient http, string baseUrl, string type, int pageSize)
            {
                var client = new JobkeeperClient(http) { BaseUrl = baseUrl };
                var ids = new List<string>();
                var pages = 0;
                string cursor = null;
                do
                {
                    var page = await client.ListJobsAsync(new[] { JobStatus.Queued }, type, null, null, null, null, null, null, pageSize, cursor);
                    pages++;
                    foreach (var job in page.Items)
                    {
                        ids.Add(job.Id);
                    }

                    cursor = page.Next_cursor;
                }
                while (cursor != null);

                return (ids, pages);
            }
        }
        """;

    [Fact]
    public async Task A_client_generated_with_nswag_compiles_and_lists_jobs_with_a_status_filter_and_the_cursor()
    {
        var json = await fixture.Client.GetStringAsync("/openapi/v1.json");
        var document = await NSwag.OpenApiDocument.FromJsonAsync(json);
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = "JobkeeperClient",
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
            UseBaseUrl = true,
            GenerateBaseUrlProperty = true,
        };
        settings.CSharpGeneratorSettings.Namespace = "Generated";
        settings.CSharpGeneratorSettings.JsonLibrary = NJsonSchema.CodeGeneration.CSharp.CSharpJsonLibrary.SystemTextJson;
        var code = new CSharpClientGenerator(document, settings).GenerateFile();
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "jobkeeper-generated-client.cs"), code);

        var assembly = Compile(code, Usage);

        var type = $"e2e.generated.{Guid.NewGuid():N}";
        var queued = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            queued.Add((await fixture.Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id"));
        }

        // One of the same type that is not queued: the filter must leave it out.
        var cancelled = (await fixture.Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
        using (var cancel = await fixture.Client.PostAsync(Api.JobPath(cancelled) + "/cancel", null))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, cancel.StatusCode);
        }

        var list = assembly.GetType("Generated.Usage")!.GetMethod("ListQueuedAsync")!;
        var task = (Task<(List<string> Ids, int Pages)>)list.Invoke(null, [fixture.Client, fixture.Server.BaseAddress.ToString().TrimEnd('/'), type, 2])!;
        var (ids, pages) = await task;

        output.WriteLine($"generated client: {code.Split('\n').Length} lines; listed {ids.Count} queued jobs in {pages} pages");
        Assert.Equal(Enumerable.Reverse(queued), ids);
        Assert.Equal(3, pages);
    }

    /// <summary>Compiles the sources against the running framework, as a project of the user's would.</summary>
    private static Assembly Compile(params string[] sources)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create("Jobkeeper.GeneratedClient",
            sources.Select(s => CSharpSyntaxTree.ParseText(s, new CSharpParseOptions(LanguageVersion.Latest))),
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Disable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(result.Success, "the generated client does not compile:\n" + string.Join("\n", errors.Take(20)));
        image.Position = 0;
        return new AssemblyLoadContext("generated-client", isCollectible: true).LoadFromStream(image);
    }
}
