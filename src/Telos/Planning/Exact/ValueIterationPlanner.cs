using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Planning.Exact;

/// <summary>
/// Value iteration over the whole level with the halt option: the objective, evaluated once for
/// every state in one batched call, is the arrival reward; halting in s (or ending the episode
/// there) is worth V(s)/(1 − γ). The plan follows the greedy policy until it halts; when halting
/// ties with moving, it halts; among tied moves it draws one at random from the budget's seed
/// (<see cref="TieBreak.Random"/>) or takes the lowest action index (<see cref="TieBreak.First"/>). Exact (to the solver's tolerance) on deterministic enumerable models.
/// </summary>
/// <remarks>Cost per decision: building the [S, A] table (S·A steps) and ~log(tol)/log(γ) sweeps of S·A backups.</remarks>
public sealed class ValueIterationPlanner<TState> : IPlanner<TState>
    where TState : struct
{
    public string Name => "vi";

    /// <exception cref="TelosInputException">The model cannot enumerate its states, or the budget is invalid.</exception>
    public PlanDecision<TState> Decide(in TState state, IEnvironment<TState> model, IStateEvaluator<TState> objective, PlanBudget budget)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(objective);
        budget.Validate();
        var enumerable = model as IEnumerableEnvironment<TState>
            ?? throw new TelosInputException($"planner 'vi' needs an enumerable state space; '{model.Name}' is not");
        var gamma = budget.Discount;
        var mdp = TabularMdp.FromEnvironment(enumerable).WithHalt();
        var reward = TabularMdp.EvaluateStates(enumerable, objective);
        var terminal = new double[reward.Length];
        for (var i = 0; i < reward.Length; i++)
        {
            terminal[i] = reward[i] / (1 - gamma);
        }
        var solution = ValueIteration.Solve(mdp, reward, gamma, terminalValue: terminal);

        var halt = model.ActionCount;
        var plan = new List<TState> { state };
        var planActions = new List<int>();
        var current = state;
        var start = enumerable.IndexOf(state);
        var ties = Seeds.Stream(budget.Seed, "planner/ties");
        for (var t = 0; t < mdp.StateCount; t++)
        {
            var s = enumerable.IndexOf(current);
            var q = solution.Q.AsSpan(s * mdp.ActionCount, mdp.ActionCount);
            var floor = solution.Values[s] - PlanBudget.RoundingTolerance * Math.Max(1.0, Math.Abs(solution.Values[s]));
            if (q[halt] >= floor)
            {
                break;
            }
            var action = TiedChoice.Pick(q[..halt], floor, budget.Ties, ref ties);
            var step = model.Step(current, action);
            planActions.Add(action);
            plan.Add(step.Next);
            current = step.Next;
            if (step.Terminated)
            {
                break;
            }
        }
        var first = planActions.Count > 0 ? planActions[0] : PlanDecision<TState>.Halt;
        return new PlanDecision<TState>(Name, first, plan.ToArray(), planActions.ToArray(), solution.Values[start], complete: true);
    }
}
