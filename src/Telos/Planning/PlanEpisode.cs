using Telos.Environments;
using System.Globalization;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Planning;

/// <summary>What an agent (planner × model × objective) did in one episode.</summary>
/// <param name="States">Visited states, [T+1], from the initial one.</param>
/// <param name="Actions">Actions taken, [T].</param>
/// <param name="Terminated">The environment ended the episode (e.g. the cheese was reached).</param>
/// <param name="Truncated">The step limit cut it.</param>
/// <param name="Halted">The planner chose to stop: nothing reachable beats staying.</param>
/// <param name="Decisions">Calls to <see cref="IPlanner{TState}.Decide"/>.</param>
/// <param name="EnvironmentReturn">Sum of the environment's own (true) rewards.</param>
public sealed record PlanEpisode<TState>(IReadOnlyList<TState> States, IReadOnlyList<int> Actions, bool Terminated, bool Truncated,
    bool Halted, int Decisions, double EnvironmentReturn)
    where TState : struct
{
    /// <summary>The last state.</summary>
    public TState Final => States[^1];
}

/// <summary>Runs a planner as an agent in its environment.</summary>
public static class PlanEpisodes
{
    /// <summary>
    /// From <paramref name="start"/> (default: the level's initial state), decides and steps until the
    /// environment terminates or truncates, or the planner halts. A complete (exact) plan is followed
    /// to its end without deciding again — by definition it is what deciding again would choose.
    /// Decision k searches with seed <c>Seeds.Derive(budget.Seed, "decision/k")</c>.
    /// </summary>
    public static PlanEpisode<TState> Run<TState>(IPlanner<TState> planner, IEnvironment<TState> environment,
        IStateEvaluator<TState> objective, PlanBudget budget, TState? start = null)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentNullException.ThrowIfNull(environment);
        var current = start ?? environment.Initial;
        var states = new List<TState> { current };
        var actions = new List<int>();
        var decisions = 0;
        var total = 0.0;
        while (true)
        {
            // A fresh, reproducible seed per decision: repeating one seed would replay the same
            // Gumbel or Dirichlet noise in every state and bias the agent the same way each time.
            var stepBudget = budget with { Seed = Seeds.Derive(budget.Seed, "decision/" + decisions.ToString(CultureInfo.InvariantCulture)) };
            var decision = planner.Decide(current, environment, objective, stepBudget);
            decisions++;
            if (decision.Halts)
            {
                return new PlanEpisode<TState>(states, actions, false, false, true, decisions, total);
            }
            var follow = decision.Complete ? decision.PlanActions : [decision.Action];
            foreach (var action in follow)
            {
                var step = environment.Step(current, action);
                total += step.Reward;
                actions.Add(action);
                states.Add(step.Next);
                current = step.Next;
                if (step.Done)
                {
                    return new PlanEpisode<TState>(states, actions, step.Terminated, step.Truncated, false, decisions, total);
                }
            }
            if (decision.Complete)
            {
                return new PlanEpisode<TState>(states, actions, false, false, true, decisions, total);
            }
        }
    }
}
