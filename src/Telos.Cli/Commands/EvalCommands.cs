using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Evaluation;
using Telos.Lab.Runs;
using Telos.Learning.Objectives;
using Telos.Planning;

namespace Telos.Cli.Commands;

/// <summary><c>telos eval</c>: a trained policy or a hard-coded planner on many levels, through the one evaluation path.</summary>
public sealed class EvalCommands : ICommandGroup
{
    public int Order => 41;

    public IEnumerable<Command> Create(CliContext context)
    {
        var agent = new Option<string?>("--agent") { Description = "A trained policy: run id or run directory (its newest checkpoint), or a checkpoint file (step-N.safetensors or its .json)" };
        var planner = new Option<string?>("--planner") { Description = "A hard-coded agent instead: " + Planners.Choices() };
        var objective = new Option<string>("--objective")
        {
            Description = "The planner's objective: a card file or a reference objective ("
                + string.Join("; ", EnvironmentFamilies.All.Select(f => $"{f.Name}: {ObjectiveSources.References(f)}")) + ")",
            DefaultValueFactory = _ => "true",
        };
        var env = new Option<string>("--env") { Description = "Task distribution (see `telos env list`)", DefaultValueFactory = _ => "maze/test" };
        var episodes = new Option<int>("--episodes") { Description = "Levels, one episode each", DefaultValueFactory = _ => 1000 };
        var seed = new Option<ulong>("--seed") { Description = "Evaluation seed: level i is Seeds.DeriveLong(seed, \"eval/level/i\"), as the ppo report's (which uses the run's seed)", DefaultValueFactory = _ => 0 };
        var sims = new Option<int>("--sims") { Description = "MCTS simulations per decision", DefaultValueFactory = _ => 64 };
        var discount = new Option<double>("--discount") { Description = "γ for vi and MCTS, in [0, 1)", DefaultValueFactory = _ => 0.99 };
        var horizon = new Option<int>("--horizon") { Description = "BFS depth limit (0 = the level's step limit)", DefaultValueFactory = _ => 0 };
        var thinking = new Option<int>("--thinking-steps") { Description = "A trained policy's extra recurrent steps on each episode's first observation before its first action (Taufeeque et al. 2024)", DefaultValueFactory = _ => 0 };
        var sample = new Option<bool>("--sample") { Description = "A trained policy samples its actions (each episode from its own seeded stream) instead of taking the argmax" };
        var parameters = new DistributionOptions();

        var eval = new Command("eval", "Evaluate an agent (a trained policy or a planner with an objective) on many levels: success, proxy pursuit, mean return and steps");
        foreach (var option in new Option[] { agent, planner, objective, env, episodes, seed, thinking, sample, sims, discount, horizon })
        {
            eval.Options.Add(option);
        }
        parameters.AddTo(eval);
        eval.SetAction(result =>
        {
            var request = new EvaluationRequest(result.GetValue(env)!, parameters.Read(result), result.GetValue(episodes), result.GetValue(seed),
                result.GetValue(agent), result.GetValue(planner), result.GetValue(objective)!,
                new PlanBudget(result.GetValue(sims), result.GetValue(horizon), result.GetValue(discount)), result.GetValue(thinking), result.GetValue(sample));
            var report = AgentEvaluations.Evaluate(request, new RunStore(context.RunsRoot));
            return Print(context, CliContext.Json(result), report);
        });
        yield return eval;
    }

    private static int Print(CliContext context, bool json, AgentEvaluationReport report)
    {
        var s = report.Summary;
        double? Share(Rate rate) => rate.Of == 0 ? null : Math.Round(rate.Value, 6);
        double[]? Interval(Rate rate) => rate.Of == 0 ? null : [Math.Round(rate.Interval.Low, 6), Math.Round(rate.Interval.High, 6)];
        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(new
            {
                agent = report.Agent,
                source = report.Source,
                env = s.Distribution,
                parameters = report.Parameters.ToString(),
                episodes = s.Levels,
                thinking_steps = report.ThinkingSteps,
                sampled = report.Sampled,
                success = Share(s.Success),
                success_ci = Interval(s.Success),
                successes = s.Success.Count,
                proxy = Share(s.Proxy),
                proxy_ci = Interval(s.Proxy),
                proxy_episodes = s.Proxy.Count,
                proxy_levels = s.Proxy.Of,
                mean_return = Math.Round(s.MeanReturn, 6),
                mean_steps = Math.Round(s.MeanSteps, 6),
                truncated = s.Truncated,
                counts = s.Counts.ToDictionary(c => c.Name, c => new
                {
                    mean = Math.Round(c.Mean, 6),
                    positive = Share(c.Positive),
                    positive_ci = Interval(c.Positive),
                    positive_episodes = c.Positive.Count,
                }),
            }));
            return ExitCodes.Success;
        }
        string Text(Rate rate) => rate.Of == 0
            ? "— (no level tells it apart)"
            : string.Create(CultureInfo.InvariantCulture, $"{rate} ({rate.Value:P1}, 95% CI {rate.Interval.Low:P1}–{rate.Interval.High:P1})");
        var table = new Table().AddColumn("").AddColumn("").HideHeaders();
        table.AddRow("agent", Markup.Escape($"{report.Agent} ({report.Source})"));
        table.AddRow("env", Markup.Escape($"{s.Distribution} {report.Parameters}"));
        table.AddRow("success", Markup.Escape(Text(s.Success)));
        table.AddRow("proxy", Markup.Escape(Text(s.Proxy)));
        table.AddRow("mean return", s.MeanReturn.ToString("G4", CultureInfo.InvariantCulture));
        table.AddRow("mean steps", s.MeanSteps.ToString("G4", CultureInfo.InvariantCulture));
        foreach (var count in s.Counts)
        {
            table.AddRow(Markup.Escape(count.Name), Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"mean {count.Mean:G4}; above 0 in {Text(count.Positive)}")));
        }
        context.Console.Write(table);
        return ExitCodes.Success;
    }
}
