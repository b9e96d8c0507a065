namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "jobkeeper-e2e")
    {
        Path = CreatePath(prefix);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Delete(Path);

    public static string CreatePath(string prefix)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 2)
            {
                // A file was still being closed; try again.
            }
            catch (UnauthorizedAccessException) when (attempt < 2)
            {
            }
            catch (IOException)
            {
                return; // Leave it to the OS temp cleaner rather than fail a test over it.
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }
}
