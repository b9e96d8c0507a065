using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobkeeper.AspNetCore.Security;

namespace Jobkeeper.Server;

/// <summary>
/// <c>jobkeeper keys add|list|remove</c>: API keys in a settings file (default ./appsettings.json, which <c>serve</c> reads).
/// A new key is printed once; only its SHA-256 is stored, under <c>Jobkeeper:ApiKeys</c>. <c>serve</c> reads the keys
/// when it starts, so an added or removed key takes effect at the next start.
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--file")
        {
            Description = "The settings file holding Jobkeeper:ApiKeys (default ./appsettings.json; created when missing)",
            DefaultValueFactory = _ => "appsettings.json",
        };
        var name = new Option<string>("--name") { Description = "The key's name, shown in logs and lists (unique)", Required = true };
        var role = new Option<string[]>("--role")
        {
            Description = $"A role of the key, repeatable: {string.Join(", ", JobkeeperRoles.All)}",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };

        var add = new Command("add", "Generate a key, print it once, and store only its hash") { name, role, file };
        add.SetAction(parse => Add(parse.GetValue(name)!, parse.GetValue(role) ?? [], parse.GetValue(file)!));

        var listFile = new Option<string>("--file")
        {
            Description = "The settings file holding Jobkeeper:ApiKeys (default ./appsettings.json)",
            DefaultValueFactory = _ => "appsettings.json",
        };
        var list = new Command("list", "List the configured keys: names and roles") { listFile };
        list.SetAction(parse => List(parse.GetValue(listFile)!));

        var removeName = new Option<string>("--name") { Description = "The name of the key to remove", Required = true };
        var removeFile = new Option<string>("--file")
        {
            Description = "The settings file holding Jobkeeper:ApiKeys (default ./appsettings.json)",
            DefaultValueFactory = _ => "appsettings.json",
        };
        var remove = new Command("remove", "Remove a key by name; the server refuses it once restarted") { removeName, removeFile };
        remove.SetAction(parse => Remove(parse.GetValue(removeName)!, parse.GetValue(removeFile)!));

        return new Command("keys", "Manage API keys") { add, list, remove };
    }

    private static int Add(string name, string[] roles, string path)
    {
        var wanted = roles.SelectMany(r => r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal).ToList();
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@'))
        {
            Console.Error.WriteLine("jobkeeper: --name must be 1-100 of A-Z a-z 0-9 . _ - @");
            return 2;
        }

        if (wanted.FirstOrDefault(r => !JobkeeperRoles.IsKnown(r)) is { } unknown)
        {
            Console.Error.WriteLine($"jobkeeper: unknown role '{unknown}'; roles are {string.Join(", ", JobkeeperRoles.All)}");
            return 2;
        }

        JsonObject root;
        try
        {
            root = Load(path) ?? new JsonObject();
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"jobkeeper: cannot read {path}: {ex.Message}");
            return 2;
        }

        var section = root["Jobkeeper"] as JsonObject;
        if (section is null)
        {
            section = new JsonObject();
            root["Jobkeeper"] = section;
        }

        var keys = section["ApiKeys"] as JsonArray;
        if (keys is null)
        {
            keys = new JsonArray();
            section["ApiKeys"] = keys;
        }

        if (keys.OfType<JsonObject>().Any(k => string.Equals(KeyName(k), name, StringComparison.Ordinal)))
        {
            Console.Error.WriteLine($"jobkeeper: {path} already has a key named '{name}'");
            return 2;
        }

        var key = ApiKeyHash.GenerateKey();
        keys.Add(new JsonObject
        {
            ["name"] = name,
            ["hash"] = ApiKeyHash.Format(key),
            ["roles"] = new JsonArray([.. wanted.Select(r => (JsonNode)JsonValue.Create(r))]),
        });

        try
        {
            Save(path, root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"jobkeeper: cannot write {path}: {ex.Message}");
            return 1;
        }

        Console.Out.WriteLine(key);
        Console.Error.WriteLine($"Key '{name}' ({string.Join(", ", wanted)}) added to {Path.GetFullPath(path)}. "
            + "Only its hash is stored: copy the key above now, it is not shown again. Restart the server to use it.");
        return 0;
    }

    private static int List(string path)
    {
        if (!TryLoad(path, out var root))
        {
            return 2;
        }

        var keys = (root?["Jobkeeper"]?["ApiKeys"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (keys.Count == 0)
        {
            Console.Out.WriteLine($"No API keys in {path}: the server serves an open API on loopback only.");
            return 0;
        }

        var rows = keys.Select(k => (Name: KeyName(k) ?? "", Roles: string.Join(", ",
            (k["roles"] as JsonArray)?.Select(r => r?.ToString() ?? "") ?? []))).ToList();
        var width = Math.Max(4, rows.Max(r => r.Name.Length));
        Console.Out.WriteLine($"{"NAME".PadRight(width)}  ROLES");
        foreach (var (keyName, keyRoles) in rows)
        {
            Console.Out.WriteLine($"{keyName.PadRight(width)}  {keyRoles}");
        }

        return 0;
    }

    private static int Remove(string name, string path)
    {
        if (!TryLoad(path, out var root))
        {
            return 2;
        }

        var keys = root?["Jobkeeper"]?["ApiKeys"] as JsonArray;
        var match = keys?.OfType<JsonObject>().FirstOrDefault(k => string.Equals(KeyName(k), name, StringComparison.Ordinal));
        if (root is null || keys is null || match is null)
        {
            var names = keys?.OfType<JsonObject>().Select(KeyName).OfType<string>().ToList() ?? [];
            Console.Error.WriteLine($"jobkeeper: {path} has no key named '{name}'"
                + (names.Count > 0 ? $" (its keys: {string.Join(", ", names)})" : " (it has no keys)"));
            return 2;
        }

        keys.Remove(match);
        try
        {
            Save(path, root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"jobkeeper: cannot write {path}: {ex.Message}");
            return 1;
        }

        Console.Out.WriteLine($"Key '{name}' removed from {Path.GetFullPath(path)}.");
        Console.Error.WriteLine(keys.Count == 0
            ? "No keys are left: the server will serve an open API on loopback addresses only, and refuse to start on any other. "
                + "A running server keeps accepting the key until it is restarted: restart it now."
            : "A running server keeps accepting the key until it is restarted: restart it now.");
        return 0;
    }

    private static string? KeyName(JsonObject key) =>
        key.FirstOrDefault(p => p.Key.Equals("name", StringComparison.OrdinalIgnoreCase)).Value?.ToString();

    /// <summary>Reads the settings file (null root when there is none); false, having said why, when it cannot be read.</summary>
    private static bool TryLoad(string path, out JsonObject? root)
    {
        try
        {
            root = Load(path);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"jobkeeper: cannot read {path}: {ex.Message}");
            root = null;
            return false;
        }
    }

    private static JsonObject? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var node = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        });
        return node as JsonObject ?? throw new InvalidOperationException("the file does not hold a JSON object");
    }

    private static void Save(string path, JsonObject root)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        var text = root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine;
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        File.Move(temp, full, overwrite: true);
    }
}
