using System.Reflection;

namespace Jobkeeper.Example.Tests;

/// <summary>Where the built example app is: under the repository root, in the same configuration as these tests.</summary>
internal static class ExamplePaths
{
    private const string SolutionFile = "Jobkeeper.slnx";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Configuration { get; } =
        typeof(ExamplePaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string AppDll
    {
        get
        {
            var path = Path.Combine(RepoRoot, "examples", "Jobkeeper.Example", "bin", Configuration, "net10.0", "Jobkeeper.Example.dll");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException($"The example app is not built at {path}; build the tests (they reference it) in {Configuration}.", path);
        }
    }

    /// <summary>The dotnet host running these tests, so the app runs on the same runtime.</summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
            {
                return hostPath;
            }

            var current = Environment.ProcessPath;
            return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No {SolutionFile} found in {AppContext.BaseDirectory} or any folder above it.");
    }
}
