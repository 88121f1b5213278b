using System.CommandLine;

namespace Telos.Cli;

/// <summary>
/// One domain's top-level commands (env, objective, plan, runs, ...). Every non-abstract class
/// implementing this in this assembly is found at start-up, so a domain adds its commands in its
/// own file without touching the others.
/// </summary>
public interface ICommandGroup
{
    /// <summary>Sort key for --help listings; lower comes first.</summary>
    int Order { get; }

    /// <summary>The group's top-level commands.</summary>
    IEnumerable<Command> Create(CliContext context);
}
