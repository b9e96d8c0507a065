using System.CommandLine;
using Jobkeeper.Server;

var root = new RootCommand("Jobkeeper: durable jobs with a hot cache over SQLite, served over HTTP.")
{
    ServeCommand.Create(),
    Jobkeeper.Server.Cli.JobsCommand.Create(),
    Jobkeeper.Server.Cli.QueuesCommand.Create(),
    Jobkeeper.Server.Cli.SchedulesCommand.Create(),
    Jobkeeper.Server.Cli.WorkersCommand.Create(),
    Jobkeeper.Server.Cli.ImportCommand.Create(),
    KeysCommand.Create(),
    Jobkeeper.Server.Operations.StatsCommand.Create(),
    Jobkeeper.Server.Operations.CleanupCommand.Create(),
    Jobkeeper.Server.Operations.BackupCommand.Create(),
    Jobkeeper.Server.Operations.RestoreCommand.Create(),
    Jobkeeper.Server.Operations.CheckCommand.Create(),
    Jobkeeper.Server.Operations.VacuumCommand.Create(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.CommandResult.Command != root)
{
    // A wrong value or option of a command: one line each, naming the command, not buried under its help (--help shows that).
    var path = new List<string>();
    for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
    {
        path.Insert(0, result.Command.Name);
    }

    foreach (var error in parse.Errors)
    {
        await Console.Error.WriteLineAsync($"{string.Join(' ', path)}: {error.Message}").ConfigureAwait(false);
    }

    return 2;
}

// The host handles SIGTERM/Ctrl+C itself (drain, then exit 0); the parser must not also act on them.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
