using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Jobkeeper.Packaging.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Packaging.Tests;

/// <summary>What each package holds: metadata, a README, XML docs, sources a debugger can step into, one version.</summary>
[Collection(PackageFeedCollection.Name)]
public sealed class PackageContentTests(PackageFeed feed, ITestOutputHelper output)
{
    // The kind of custom debug information that holds a document's source text inside a portable PDB.
    private static readonly Guid EmbeddedSource = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    [Fact]
    public void Every_package_has_the_one_version_a_description_a_readme_and_xml_docs()
    {
        var packed = Directory.GetFiles(feed.Directory, "*.nupkg").Select(Path.GetFileName).Order().ToList();
        output.WriteLine($"packed (version {feed.Version}): {string.Join(", ", packed)}");
        Assert.Equal(PackageFeed.Libraries.Append(PackageFeed.Tool).Select(id => $"{id}.{feed.Version}.nupkg").Order(), packed);

        foreach (var id in PackageFeed.Libraries)
        {
            using var package = ZipFile.OpenRead(feed.PackagePath(id));
            var metadata = Nuspec(package);
            Assert.Equal(id, Text(metadata, "id"));
            Assert.Equal(feed.Version, Text(metadata, "version"));
            Assert.False(string.IsNullOrWhiteSpace(Text(metadata, "description")), $"{id} has no description");
            Assert.Equal("Jobkeeper contributors", Text(metadata, "authors"));
            Assert.Equal("README.md", Text(metadata, "readme"));
            var readme = Entry(package, "README.md");
            Assert.Contains($"# {id}", readme, StringComparison.Ordinal);
            Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.dll"));
            var docs = XDocument.Parse(Entry(package, $"lib/net10.0/{id}.xml"));
            Assert.Equal(id, docs.Root!.Element("assembly")!.Element("name")!.Value);
            Assert.NotEmpty(docs.Root.Element("members")!.Elements("member"));

            // A package's dependencies on the others are on this same version.
            foreach (var dependency in metadata.Descendants(metadata.Name.Namespace + "dependency")
                         .Where(d => d.Attribute("id")!.Value.StartsWith("Jobkeeper.", StringComparison.Ordinal)))
            {
                Assert.Equal(feed.Version, dependency.Attribute("version")!.Value);
            }
        }
    }

    [Fact]
    public void The_server_package_is_the_jobkeeper_dotnet_tool()
    {
        using var package = ZipFile.OpenRead(feed.PackagePath(PackageFeed.Tool));
        var metadata = Nuspec(package);
        Assert.Equal(feed.Version, Text(metadata, "version"));
        Assert.Equal("DotnetTool", metadata.Descendants(metadata.Name.Namespace + "packageType").Single().Attribute("name")!.Value);
        var settings = XDocument.Parse(Entry(package, "tools/net10.0/any/DotnetToolSettings.xml"));
        var command = settings.Descendants("Command").Single();
        Assert.Equal("jobkeeper", command.Attribute("Name")!.Value);
        Assert.Equal("jobkeeper.dll", command.Attribute("EntryPoint")!.Value);
        Assert.Contains("dotnet tool install --global Jobkeeper.Server", Entry(package, "README.md"), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_assembly_embeds_its_symbols_with_every_source_file()
    {
        foreach (var id in PackageFeed.Libraries)
        {
            using var package = ZipFile.OpenRead(feed.PackagePath(id));
            using var dll = new MemoryStream();
            using (var entry = package.GetEntry($"lib/net10.0/{id}.dll")!.Open())
            {
                entry.CopyTo(dll);
            }

            dll.Position = 0;
            using var pe = new PEReader(dll);
            var embedded = pe.ReadDebugDirectory().SingleOrDefault(d => d.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
            Assert.True(embedded.DataSize > 0, $"{id}.dll has no embedded PDB");
            using var pdbProvider = pe.ReadEmbeddedPortablePdbDebugDirectoryData(embedded);
            var pdb = pdbProvider.GetMetadataReader();
            var sources = pdb.Documents.Select(pdb.GetDocument).Select(d => pdb.GetString(d.Name))
                .Where(name => name.EndsWith(".cs", StringComparison.Ordinal) && !name.Contains("/obj/", StringComparison.Ordinal) && !name.Contains("\\obj\\", StringComparison.Ordinal))
                .ToList();
            var withText = pdb.CustomDebugInformation.Select(pdb.GetCustomDebugInformation)
                .Where(c => pdb.GetGuid(c.Kind) == EmbeddedSource && c.Parent.Kind == HandleKind.Document)
                .Select(c => pdb.GetString(pdb.GetDocument((DocumentHandle)c.Parent).Name))
                .ToHashSet();
            Assert.NotEmpty(sources);
            Assert.All(sources, name => Assert.True(withText.Contains(name), $"{id}: {name} is not embedded"));
            output.WriteLine($"{id}: {sources.Count} source files embedded");
        }
    }

    private static XElement Nuspec(ZipArchive package)
    {
        var entry = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = entry.Open();
        var root = XDocument.Load(stream).Root!;
        return root.Element(root.Name.Namespace + "metadata")!;
    }

    private static string? Text(XElement metadata, string name) => metadata.Element(metadata.Name.Namespace + name)?.Value;

    private static string Entry(ZipArchive package, string path)
    {
        var entry = package.GetEntry(path);
        Assert.True(entry is not null, $"the package has no {path}");
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }
}
