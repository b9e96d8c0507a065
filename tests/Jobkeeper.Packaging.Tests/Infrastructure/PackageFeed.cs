using System.Reflection;

namespace Jobkeeper.Packaging.Tests.Infrastructure;

[CollectionDefinition(Name)]
public sealed class PackageFeedCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "package feed";
}

/// <summary>
/// The repository's packages, packed once (<c>dotnet pack --no-build</c> of the solution, in the tests' build
/// configuration) into a folder feed under a temp directory that the tests share and that is deleted at the end.
/// </summary>
public sealed class PackageFeed : IAsyncLifetime
{
    public static readonly string[] Libraries =
    [
        "Jobkeeper.Contracts", "Jobkeeper.Core", "Jobkeeper.Relational", "Jobkeeper.Sqlite", "Jobkeeper.Postgres",
        "Jobkeeper.AspNetCore", "Jobkeeper.Client", "Jobkeeper.OpenTelemetry",
    ];

    public const string Tool = "Jobkeeper.Server";

    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(5);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"jobkeeper-packaging-{Guid.NewGuid():N}");

    public string Directory => Path.Combine(Root, "feed");

    public string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The one version every package has (read from the packed files).</summary>
    public string Version { get; private set; } = "";

    public string PackOutput { get; private set; } = "";

    public static string Configuration =>
        typeof(PackageFeed).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    public string PackagePath(string id) => Path.Combine(Directory, $"{id}.{Version}.nupkg");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var pack = await Command.RunCheckedAsync("dotnet",
            ["pack", "Jobkeeper.slnx", "--no-build", "-c", Configuration, "-nologo", $"-p:PackageOutputPath={Directory}{Path.DirectorySeparatorChar}"],
            RepositoryRoot, PackTimeout);
        PackOutput = pack.Output;
        var core = System.IO.Directory.GetFiles(Directory, "Jobkeeper.Core.*.nupkg").Single();
        Version = Path.GetFileNameWithoutExtension(core)["Jobkeeper.Core.".Length..];
    }

    /// <summary>
    /// A nuget.config for a project outside the repository: Jobkeeper's packages come from this feed and nowhere else
    /// (package source mapping); their dependencies (Microsoft.Data.Sqlite, Cronos, ...) from the machine's NuGet
    /// packages folder, which the repository's own restore filled; everything is extracted into a packages folder of
    /// its own, so nothing cached from an earlier run can stand in for what was packed now.
    /// </summary>
    public string WriteNuGetConfig(string directory)
    {
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(directory, "nuget.config");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(directory, ".packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="jobkeeper-feed" value="{Directory}" />
                <add key="machine-packages" value="{machinePackages}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="jobkeeper-feed">
                  <package pattern="Jobkeeper.*" />
                </packageSource>
                <packageSource key="machine-packages">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        return path;
    }

    public Task DisposeAsync()
    {
        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Left to the OS temp cleaner rather than fail the run over it.
        }

        return Task.CompletedTask;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jobkeeper.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Jobkeeper.slnx above {AppContext.BaseDirectory}.");
    }
}
