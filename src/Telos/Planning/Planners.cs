using Telos.Environments;
using Telos.Planning.Exact;

namespace Telos.Planning;

/// <summary>The planners by CLI name.</summary>
public static class Planners
{
    /// <summary>Known names: bfs, astar, dijkstra, vi (exact); mcts (PUCT), gumbel, uct (Monte-Carlo tree search).</summary>
    public static IReadOnlyList<string> Names { get; } = ["bfs", "astar", "dijkstra", "vi", "mcts", "gumbel", "uct"];

    /// <summary>The planner called <paramref name="name"/>.</summary>
    /// <exception cref="TelosInputException">Unknown name; the message lists the known ones.</exception>
    public static IPlanner<TState> Create<TState>(string name)
        where TState : struct => name switch
    {
        "bfs" => new BreadthFirstPlanner<TState>(),
        "vi" => new ValueIterationPlanner<TState>(),
        "astar" => new AStarPlanner<TState>("astar", Heuristic<TState>()),
        "dijkstra" => new AStarPlanner<TState>("dijkstra"),
        "mcts" => MctsPlanner<TState>.Puct(),
        "gumbel" => MctsPlanner<TState>.Gumbel(),
        "uct" => MctsPlanner<TState>.Uct(),
        _ => throw new TelosInputException($"unknown planner '{name}'; known: {string.Join(", ", Names)}"),
    };

    /// <summary>
    /// The A* heuristic for a state type: Manhattan distance between cells for <see cref="MazeState"/>
    /// (admissible and consistent: every move changes one coordinate by one); null (zero, i.e.
    /// Dijkstra) for others.
    /// </summary>
    public static Func<IEnvironment<TState>, TState, TState, double>? Heuristic<TState>()
        where TState : struct
    {
        if (typeof(TState) != typeof(MazeState))
        {
            return null;
        }
        Func<IEnvironment<MazeState>, MazeState, MazeState, double> manhattan = (model, from, to) =>
        {
            var n = ((Maze)model).Size;
            return Math.Abs(from.Cell / n - to.Cell / n) + Math.Abs(from.Cell % n - to.Cell % n);
        };
        return (Func<IEnvironment<TState>, TState, TState, double>)(object)manhattan;
    }
}
