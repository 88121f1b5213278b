using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Planning.Exact;

/// <summary>
/// Breadth-first search to the objective's best reachable state: every state reachable from the
/// current one within the horizon is found (deduplicated by state index), the objective values
/// them all in one batched call, and the plan is a shortest path to the best one. Ties (values
/// within <see cref="PlanBudget.TieSlack"/>): the current state if it is among them (the agent stays),
/// else uniformly at random from the budget's seed
/// (<see cref="TieBreak.Random"/>), or the nearest, then the first found (<see cref="TieBreak.First"/>).
/// The agent halts there. Exact for any objective on a
/// deterministic, enumerable model; ignores what the path passes through.
/// </summary>
/// <remarks>Terminating transitions are entered but not expanded. Cost: O(S·A) steps and one evaluation of ≤ S states.</remarks>
public sealed class BreadthFirstPlanner<TState> : IPlanner<TState>
    where TState : struct
{
    public string Name => "bfs";

    /// <exception cref="TelosInputException">The model cannot enumerate its states.</exception>
    public PlanDecision<TState> Decide(in TState state, IEnvironment<TState> model, IStateEvaluator<TState> objective, PlanBudget budget)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(objective);
        budget.Validate();
        var enumerable = model as IEnumerableEnvironment<TState>
            ?? throw new TelosInputException($"planner 'bfs' needs an enumerable state space; '{model.Name}' is not");
        var horizon = budget.Horizon > 0 ? budget.Horizon : model.StepLimit;
        var a = model.ActionCount;

        // Discovery order doubles as the queue; parents and depths are per discovered node.
        var index = new Dictionary<int, int>();
        var states = new List<TState> { state };
        var parents = new List<int> { -1 };
        var actions = new List<int> { -1 };
        var depths = new List<int> { 0 };
        var terminal = new List<bool> { false };
        index[enumerable.IndexOf(state)] = 0;
        Span<bool> legal = stackalloc bool[a];
        for (var head = 0; head < states.Count; head++)
        {
            if (depths[head] >= horizon || terminal[head])
            {
                continue;
            }
            var current = states[head];
            legal.Clear();
            model.LegalActions(current, legal);
            for (var action = 0; action < a; action++)
            {
                if (!legal[action])
                {
                    continue;
                }
                var step = model.Step(current, action);
                var key = enumerable.IndexOf(step.Next);
                if (index.ContainsKey(key))
                {
                    continue;
                }
                index[key] = states.Count;
                states.Add(step.Next);
                parents.Add(head);
                actions.Add(action);
                depths.Add(depths[head] + 1);
                terminal.Add(step.Terminated);
            }
        }

        var all = states.ToArray();
        var values = new double[all.Length];
        objective.Evaluate(all, values);
        var max = values.Max();
        var ties = Seeds.Stream(budget.Seed, "planner/ties");
        var floor = max - budget.TieSlack(max);
        // Staying is free: as value iteration halts when halting ties with moving, BFS stays when the start is among the best.
        var best = values[0] >= floor ? 0 : TiedChoice.Pick(values, floor, budget.Ties, ref ties);

        var path = new List<int>();
        for (var node = best; node >= 0; node = parents[node])
        {
            path.Add(node);
        }
        path.Reverse();
        var plan = path.Select(i => all[i]).ToArray();
        var planActions = path.Skip(1).Select(i => actions[i]).ToArray();
        SearchTreeSnapshot? tree = null;
        if (budget.KeepTree)
        {
            var nodes = new SearchTreeNode[all.Length];
            for (var i = 0; i < nodes.Length; i++)
            {
                nodes[i] = new SearchTreeNode(i, parents[i], actions[i], 1, values[i], values[i], all[i].ToString() ?? "");
            }
            tree = new SearchTreeSnapshot(Name, a, nodes);
        }
        var first = planActions.Length > 0 ? planActions[0] : PlanDecision<TState>.Halt;
        return new PlanDecision<TState>(Name, first, plan, planActions, values[best], complete: true, tree: tree);
    }
}
