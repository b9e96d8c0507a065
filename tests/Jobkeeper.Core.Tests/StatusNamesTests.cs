using System.Text.RegularExpressions;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

/// <summary>Status names live on the enum; the dashboard's copy is checked against it so it cannot drift.</summary>
public partial class StatusNamesTests
{
    [Fact]
    public void Every_status_has_one_wire_name_and_parses_back()
    {
        foreach (var status in JobStatusNames.All)
        {
            Assert.True(JobStatusNames.TryParse(status.ToName(), out var parsed));
            Assert.Equal(status, parsed);
            Assert.Equal($"\"{status.ToName()}\"", System.Text.Json.JsonSerializer.Serialize(status));
        }
    }

    [Fact]
    public void The_dashboard_lists_the_statuses_the_server_has_in_its_order()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Jobkeeper.slnx")))
        {
            root = root.Parent!;
        }

        var filters = File.ReadAllText(Path.Combine(root.FullName, "src", "Jobkeeper.AspNetCore", "Dashboard", "wwwroot", "filters.js"));
        var list = StatusList().Match(filters);
        Assert.True(list.Success, "filters.js no longer declares STATUSES");
        var names = Regex.Matches(list.Groups[1].Value, "'([a-z]+)'").Select(m => m.Groups[1].Value);
        Assert.Equal(JobStatusNames.All.Select(s => s.ToName()), names);
    }

    [GeneratedRegex(@"export const STATUSES = \[([^\]]*)\]")]
    private static partial Regex StatusList();
}
