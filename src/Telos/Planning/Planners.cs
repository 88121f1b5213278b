using Telos.Planning.Exact;

namespace Telos.Planning;

/// <summary>The planners by CLI name.</summary>
public static class Planners
{
    /// <summary>Known names: bfs, vi (exact); mcts (PUCT), gumbel, uct (Monte-Carlo tree search).</summary>
    public static IReadOnlyList<string> Names { get; } = ["bfs", "vi", "mcts", "gumbel", "uct"];

    /// <summary>The planner called <paramref name="name"/>.</summary>
    /// <exception cref="TelosInputException">Unknown name; the message lists the known ones.</exception>
    public static IPlanner<TState> Create<TState>(string name)
        where TState : struct => name switch
    {
        "bfs" => new BreadthFirstPlanner<TState>(),
        "vi" => new ValueIterationPlanner<TState>(),
        "mcts" => MctsPlanner<TState>.Puct(),
        "gumbel" => MctsPlanner<TState>.Gumbel(),
        "uct" => MctsPlanner<TState>.Uct(),
        _ => throw new TelosInputException($"unknown planner '{name}'; known: {string.Join(", ", Names)}"),
    };
}
