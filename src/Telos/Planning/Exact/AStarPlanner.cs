using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Planning.Exact;

/// <summary>
/// A* (or Dijkstra, with the zero heuristic) to the objective's best reachable state. The objective
/// values every state of the level in one batched call; candidates are tried from the best value
/// down, each by an A* search from the current state with an admissible heuristic, within the
/// horizon. The first value level (values within <see cref="PlanBudget.TieSlack"/> of its best) with a
/// reachable candidate wins; of its reachable candidates the goal is drawn at random from the budget's seed
/// (<see cref="TieBreak.Random"/>) or is the cheapest (<see cref="TieBreak.First"/>), and the agent halts there — the same result as <see cref="BreadthFirstPlanner{TState}"/>
/// with unit costs, found by expanding fewer states when the heuristic is informative.
/// </summary>
/// <remarks>
/// Step costs default to 1; a cost function makes it Dijkstra's weighted search (costs must be positive).
/// Terminating transitions are entered but not expanded. The horizon limits the number of steps, which
/// is exact with unit costs. With unit costs, a search that exhausts without reaching its target has
/// closed the whole reachable set, and unreachable candidates are skipped after that.
/// </remarks>
public sealed class AStarPlanner<TState> : IPlanner<TState>
    where TState : struct
{
    private readonly Func<IEnvironment<TState>, TState, TState, double> _heuristic;
    private readonly Func<TState, int, TState, double>? _stepCost;

    /// <param name="name">CLI name ("astar", "dijkstra").</param>
    /// <param name="heuristic">h(model, s, goal): a lower bound on the cost from s to goal (0 gives Dijkstra).</param>
    /// <param name="stepCost">c(s, a, s′) &gt; 0; null for unit costs.</param>
    public AStarPlanner(string name, Func<IEnvironment<TState>, TState, TState, double>? heuristic = null, Func<TState, int, TState, double>? stepCost = null)
    {
        Name = name;
        _heuristic = heuristic ?? ((_, _, _) => 0.0);
        _stepCost = stepCost;
    }

    public string Name { get; }

    /// <summary>States expanded (popped from the open set) by the last decision, over all its searches.</summary>
    public int LastExpanded { get; private set; }

    /// <exception cref="TelosInputException">The model cannot enumerate its states.</exception>
    public PlanDecision<TState> Decide(in TState state, IEnvironment<TState> model, IStateEvaluator<TState> objective, PlanBudget budget)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(objective);
        budget.Validate();
        var enumerable = model as IEnumerableEnvironment<TState>
            ?? throw new TelosInputException($"planner '{Name}' needs an enumerable state space; '{model.Name}' is not");
        var horizon = budget.Horizon > 0 ? budget.Horizon : model.StepLimit;
        var values = TabularMdp.EvaluateStates(enumerable, objective);
        var start = enumerable.IndexOf(state);
        var order = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).ToArray();
        bool[]? reachable = null;
        LastExpanded = 0;

        var ties = Seeds.Stream(budget.Seed, "planner/ties");
        for (var k = 0; k < order.Length;)
        {
            var level = values[order[k]];
            var floor = level - budget.TieSlack(level);
            if (values[start] >= floor)
            {
                break; // nothing reachable beats staying
            }
            var found = new List<Path>();
            for (; k < order.Length && values[order[k]] >= floor; k++)
            {
                var target = order[k];
                if (reachable is not null && !reachable[target])
                {
                    continue;
                }
                var path = Search(enumerable, state, target, horizon, out var closed);
                if (path is null && closed is not null && _stepCost is null)
                {
                    reachable ??= closed;
                }
                if (path is not null)
                {
                    found.Add(path);
                }
            }
            if (found.Count > 0)
            {
                // First: the cheapest (the earliest found among equals); Random: any of the tied goals, as BFS draws.
                var best = budget.Ties == TieBreak.First || found.Count == 1
                    ? found.MinBy(p => p.Cost)!
                    : found[ties.NextInt(found.Count)];
                var first = best.Actions.Length > 0 ? best.Actions[0] : PlanDecision<TState>.Halt;
                return new PlanDecision<TState>(Name, first, best.States, best.Actions, values[enumerable.IndexOf(best.States[^1])], complete: true);
            }
        }
        return new PlanDecision<TState>(Name, PlanDecision<TState>.Halt, [state], [], values[start], complete: true);
    }

    private sealed record Path(TState[] States, int[] Actions, double Cost);

    /// <summary>A* from <paramref name="start"/> to state index <paramref name="target"/>; null if unreachable within the horizon (then <paramref name="closed"/> marks every state it could reach).</summary>
    private Path? Search(IEnumerableEnvironment<TState> model, TState start, int target, int horizon, out bool[]? closed)
    {
        var s = model.StateCount;
        var a = model.ActionCount;
        var cost = new double[s];
        Array.Fill(cost, double.PositiveInfinity);
        var depth = new int[s];
        var parent = new int[s];
        var via = new int[s];
        var states = new TState[s];
        var done = new bool[s];
        var goal = model.StateAt(target);
        var open = new PriorityQueue<int, (double F, int Order)>();
        var pushes = 0;
        var root = model.IndexOf(start);
        cost[root] = 0;
        parent[root] = -1;
        states[root] = start;
        open.Enqueue(root, (_heuristic(model, start, goal), pushes++));
        Span<bool> legal = stackalloc bool[a];
        while (open.TryDequeue(out var node, out _))
        {
            if (done[node])
            {
                continue;
            }
            done[node] = true;
            LastExpanded++;
            if (node == target)
            {
                closed = null;
                return Reconstruct(node, parent, via, states, cost[node]);
            }
            var current = states[node];
            if (depth[node] >= horizon)
            {
                continue;
            }
            legal.Clear();
            model.LegalActions(current, legal);
            for (var action = 0; action < a; action++)
            {
                if (!legal[action])
                {
                    continue;
                }
                var step = model.Step(current, action);
                var next = model.IndexOf(step.Next);
                var c = cost[node] + (_stepCost?.Invoke(current, action, step.Next) ?? 1.0);
                if (done[next] || c >= cost[next])
                {
                    continue;
                }
                cost[next] = c;
                depth[next] = depth[node] + 1;
                parent[next] = node;
                via[next] = action;
                states[next] = step.Next;
                if (step.Terminated && next != target)
                {
                    done[next] = true; // entered, never expanded
                    continue;
                }
                open.Enqueue(next, (c + _heuristic(model, step.Next, goal), pushes++));
            }
        }
        closed = done;
        return null;
    }

    private static Path Reconstruct(int node, int[] parent, int[] via, TState[] states, double cost)
    {
        var chain = new List<int>();
        for (var n = node; n >= 0; n = parent[n])
        {
            chain.Add(n);
        }
        chain.Reverse();
        return new Path(chain.Select(i => states[i]).ToArray(), chain.Skip(1).Select(i => via[i]).ToArray(), cost);
    }
}
