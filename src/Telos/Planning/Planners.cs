using Telos.Environments;
using Telos.Planning.Exact;
using Telos.Planning.Search;

namespace Telos.Planning;

/// <summary>A planner the CLI and configs can name.</summary>
/// <param name="Name">The name: <c>bfs</c>, <c>mcts</c>, …</param>
/// <param name="Description">What it is, in one line.</param>
/// <param name="Exact">Exact (plans to the end over an enumerable model) rather than Monte-Carlo tree search.</param>
public sealed record PlannerInfo(string Name, string Description, bool Exact);

/// <summary>The planners by name: the one place a name becomes a planner or a search policy.</summary>
public static class Planners
{
    /// <summary>Every planner, exact ones first.</summary>
    public static IReadOnlyList<PlannerInfo> All { get; } =
    [
        new("bfs", "breadth-first search to the best reachable state", Exact: true),
        new("astar", "A* with the family's admissible heuristic", Exact: true),
        new("dijkstra", "uniform-cost search (A* without a heuristic)", Exact: true),
        new("vi", "value iteration over the enumerated level", Exact: true),
        new("mcts", "PUCT tree search, greedy on visits, no root noise", Exact: false),
        new("gumbel", "Gumbel MuZero root with sequential halving", Exact: false),
        new("uct", "UCT tree search over min-max normalised Q", Exact: false),
    ];

    /// <summary>Every planner's name: bfs, astar, dijkstra, vi (exact); mcts (PUCT), gumbel, uct (Monte-Carlo tree search).</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(p => p.Name)];

    /// <summary>The names of the Monte-Carlo tree-search planners.</summary>
    public static IReadOnlyList<string> SearchNames { get; } = [.. All.Where(p => !p.Exact).Select(p => p.Name)];

    /// <summary>"bfs | astar | …" for option descriptions.</summary>
    public static string Choices(bool searchOnly = false) => string.Join(" | ", searchOnly ? SearchNames : Names);

    /// <summary>The planner called <paramref name="name"/>; A* takes its heuristic from <paramref name="family"/> (none: Dijkstra's zero).</summary>
    /// <exception cref="TelosInputException">Unknown name; the message lists the known ones.</exception>
    public static IPlanner<TState> Create<TState>(string name, IEnvironmentFamily<TState>? family = null)
        where TState : struct => name switch
    {
        "bfs" => new BreadthFirstPlanner<TState>(),
        "vi" => new ValueIterationPlanner<TState>(),
        "astar" => new AStarPlanner<TState>("astar", family?.Heuristic),
        "dijkstra" => new AStarPlanner<TState>("dijkstra"),
        "mcts" or "gumbel" or "uct" => new MctsPlanner<TState>(name, SearchPolicy(name)),
        _ => throw Unknown(name),
    };

    /// <summary>
    /// The search policy of an MCTS planner: <c>mcts</c> is PUCT (pb_c_init 1.25, pb_c_base 19652)
    /// greedy on visits without root noise, as an agent acts; <c>puct</c> is PUCT with its self-play
    /// defaults (Dirichlet root noise, visit-count sampling); <c>uct</c> is UCT (c = √2 over min-max
    /// normalised Q); <c>gumbel</c> is the Gumbel MuZero root (16 considered actions, completed Q).
    /// </summary>
    /// <exception cref="TelosInputException">Not an MCTS planner's name.</exception>
    public static SearchPolicy SearchPolicy(string name) => name switch
    {
        "mcts" => new PuctPolicy { DirichletFraction = 0f, Temperature = 0f },
        "puct" => new PuctPolicy(),
        "uct" => new UctPolicy(),
        "gumbel" => new GumbelPolicy(),
        _ => throw new TelosInputException($"'{name}' is not a tree-search planner; known: {string.Join(", ", SearchNames)}, puct"),
    };

    private static TelosInputException Unknown(string name) => new($"unknown planner '{name}'; known: {string.Join(", ", Names)}");
}
