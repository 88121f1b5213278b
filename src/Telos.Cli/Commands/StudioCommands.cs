using System.CommandLine;
using Telos.Studio;

namespace Telos.Cli.Commands;

/// <summary><c>telos studio</c>: the objective in the browser (docs/studio.md). The server and the session live in Telos.Studio.</summary>
public sealed class StudioCommands : ICommandGroup
{
    public int Order => 45;

    public IEnumerable<Command> Create(CliContext context)
    {
        var port = new Option<int>("--port") { Description = "Port to listen on (0: any free port)", DefaultValueFactory = _ => 0 };
        var listen = new Option<string?>("--listen") { Description = "Address to bind instead of 127.0.0.1 (an IP address; anything but loopback is reachable from other machines)" };
        var runs = new Option<string?>("--runs") { Description = "Run store whose ppo runs the page can load and whose studio/ folder saved cards go to (default: the run store, ./runs or TELOS_RUNS)" };
        var env = new Option<string>("--env") { Description = "Distribution of the first level", DefaultValueFactory = _ => "maze/test" };
        var seed = new Option<long>("--seed") { Description = "Seed of the first level", DefaultValueFactory = _ => 0 };
        var objective = new Option<string?>("--objective") { Description = "Card file or reference to start from (default: the family's proxy, e.g. corner)" };
        var command = new Command("studio", "Serve the studio: see the objective over a level, edit it, watch the planner re-plan and the EPIC audit move (loopback only; prints the address with its token)");
        foreach (var option in new Option[] { port, listen, runs, env, seed, objective })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellation) =>
        {
            var (address, exposed) = result.GetValue(listen) is { } named ? StudioAddress.Parse(named) : (StudioAddress.Default, false);
            if (exposed)
            {
                context.Error.WriteLine($"warning: --listen {address} is reachable from other machines; anyone who sees the token can drive the studio and write cards");
            }
            var store = result.GetValue(runs) ?? context.RunsRoot;
            var session = new StudioSessionOptions(Path.Combine(store, "studio"), result.GetValue(env)!, result.GetValue(seed), result.GetValue(objective), Runs: store);
            await using var server = await StudioServer.StartAsync(new StudioServerOptions(session, address, result.GetValue(port)), cancellation);
            context.WriteLine($"telos studio: {server.PageAddress}");
            context.WriteLine($"saving cards to {server.Session.SaveDirectory}; Ctrl+C stops");
            await server.WaitAsync(cancellation);
            return ExitCodes.Success;
        });
        yield return command;
    }
}
