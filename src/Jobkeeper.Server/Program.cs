using System.CommandLine;
using Jobkeeper.Server;

var root = new RootCommand("Jobkeeper: durable jobs with a hot cache over SQLite, served over HTTP.")
{
    ServeCommand.Create(),
    Jobkeeper.Server.Cli.JobsCommand.Create(),
    Jobkeeper.Server.Cli.ImportCommand.Create(),
    KeysCommand.Create(),
    Jobkeeper.Server.Operations.StatsCommand.Create(),
    Jobkeeper.Server.Operations.CleanupCommand.Create(),
    Jobkeeper.Server.Operations.BackupCommand.Create(),
    Jobkeeper.Server.Operations.RestoreCommand.Create(),
    Jobkeeper.Server.Operations.CheckCommand.Create(),
    Jobkeeper.Server.Operations.VacuumCommand.Create(),
};

// The host handles SIGTERM/Ctrl+C itself (drain, then exit 0); the parser must not also act on them.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
