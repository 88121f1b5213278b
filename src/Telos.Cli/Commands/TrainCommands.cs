using System.CommandLine;
using Telos.Lab.Reinforcement;

namespace Telos.Cli.Commands;

/// <summary><c>telos train ppo</c>: a run of the <c>ppo</c> experiment from flags (and optionally a config file), in the run store.</summary>
public sealed class TrainCommands : ICommandGroup
{
    public int Order => 11;

    public IEnumerable<Command> Create(CliContext context)
    {
        var env = new Option<string?>("--env") { Description = "Training distribution (config key env; default maze/train)" };
        var policy = new Option<string?>("--policy") { Description = $"Policy network: {string.Join(" | ", PpoExperiment.PolicyNames)} (config key policy; default lstm)" };
        var steps = new Option<long?>("--steps") { Description = "Environment steps of the whole run (config key total_timesteps), rounded down to whole rollouts" };
        var seed = new Option<long?>("--seed") { Description = "Root seed (config key seed)" };
        var config = new Option<string?>("--config") { Description = "A ppo config file (TOML, as experiments/ppo-maze.toml); the flags given replace its keys" };
        var name = new Option<string?>("--name") { Description = "Run name (default: the config file's name, else ppo-POLICY)" };
        var parameters = new DistributionOptions();

        var ppo = new Command("ppo", "Train a PPO policy as a run in the run store (a front to the ppo experiment: flags replace config keys); resume with telos resume ID");
        foreach (var option in new Option[] { env, policy, steps, seed, config, name })
        {
            ppo.Options.Add(option);
        }
        parameters.AddTo(ppo);
        ppo.SetAction(result =>
        {
            var runner = RunCommands.Runner(context);
            // Everything is validated here, before any directory or index row exists.
            var prepared = PpoRuns.Prepare(runner, new PpoTrainRequest(result.GetValue(config), result.GetValue(env), result.GetValue(policy), result.GetValue(steps),
                parameters.Read(result), result.GetValue(seed), result.GetValue(name)));
            return RunCommands.Execute(context, result, (progress, token) => runner.Start(prepared, progress, token));
        });

        var train = new Command("train", "Train an agent end to end");
        train.Subcommands.Add(ppo);
        yield return train;
    }
}
