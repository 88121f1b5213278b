using Telos.Agents;
using Telos.Environments;
using Telos.Objectives;

namespace Telos.Planning;

/// <summary>The result of planning through one maze level with one objective.</summary>
/// <param name="Cells">Cells visited, [T+1], from the start.</param>
/// <param name="Actions">Moves taken, [T] (<see cref="Maze.Up"/> … <see cref="Maze.Left"/>).</param>
/// <param name="ReachedCheese">The mouse ended on the cheese: the true goal.</param>
/// <param name="EndedAtCorner">The mouse ended on the top-right corner: proxy pursuit when the cheese is elsewhere.</param>
/// <param name="Halted">The planner stopped by choice (not at the cheese, not by the step limit).</param>
/// <param name="Truncated">The step limit ended the episode.</param>
/// <param name="Decisions">Planner calls.</param>
/// <param name="Ascii">The maze with the path drawn over it (see <see cref="MazePlanning.Render"/>).</param>
/// <param name="Trace">The path explained step by step in the objective's terms.</param>
public sealed record MazePlanOutcome(IReadOnlyList<int> Cells, IReadOnlyList<int> Actions, bool ReachedCheese, bool EndedAtCorner,
    bool Halted, bool Truncated, int Decisions, string Ascii, PlanTrace Trace)
{
    /// <summary>Moves taken, T.</summary>
    public int Steps => Actions.Count;
}

/// <summary>One maze episode of a hard-coded agent, with its picture and trace: a maze-flavoured shortcut over <see cref="AgentEvaluation"/>.</summary>
public static class MazePlanning
{
    /// <summary>Names of the four moves, by action index (the maze family's).</summary>
    public static IReadOnlyList<string> ActionNames => MazeFamily.Instance.ActionNames;

    /// <summary>"up", "right", "down", "left", or "halt" (for <see cref="PlanDecision{TState}.Halt"/> or the MCTS halt index 4).</summary>
    public static string ActionName(int action) => action is >= 0 and < 4 ? ActionNames[action] : "halt";

    /// <summary>
    /// Runs <paramref name="planner"/> with <paramref name="objective"/> from the start of
    /// <paramref name="maze"/> until it reaches the cheese, halts or hits the step limit, and reports
    /// where it ended: on the cheese (success) or on the top-right corner (proxy pursuit).
    /// </summary>
    /// <param name="maze">The level.</param>
    /// <param name="objective">State values (e.g. a <c>FeatureObjectiveEvaluator&lt;MazeState&gt;</c> over a compiled objective).</param>
    /// <param name="planner">bfs, vi, mcts or gumbel.</param>
    /// <param name="budget">Default: 64 simulations, γ = 0.99, seed 0.</param>
    /// <param name="weights">Feature weights of a linear objective, for per-feature contributions in the trace; null otherwise.</param>
    /// <exception cref="TelosInputException">Unknown planner or bad budget.</exception>
    public static MazePlanOutcome Plan(Maze maze, IStateEvaluator<MazeState> objective, string planner = "bfs", PlanBudget? budget = null,
        IReadOnlyDictionary<string, double>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(maze);
        ArgumentNullException.ThrowIfNull(objective);
        var bound = new AgentObjective<MazeState>("objective", weights is null ? AgentKind.NeuralObjective : AgentKind.ReadableObjective, _ => objective, weights: weights);
        var chosen = budget ?? PlanBudget.Default;
        var agent = new PlanningAgent<MazeState>(Planners.Create(planner, MazeFamily.Instance), bound, chosen);
        var episode = AgentEvaluation.Run(agent, maze, chosen.Seed);
        var cells = episode.States.Select(s => s.Cell).ToArray();
        var trace = agent.Explain(maze, episode.States, episode.Actions, ActionName);
        var final = cells[^1];
        return new MazePlanOutcome(cells, episode.Actions, final == maze.Cheese, final == maze.Corner, episode.Halted, episode.Truncated,
            agent.Decisions.Count, Render(maze, cells), trace);
    }

    /// <summary>
    /// <see cref="Plan(Maze, IStateEvaluator{MazeState}, string, PlanBudget?, IReadOnlyDictionary{string, double}?)"/>
    /// with a feature objective card: compiled to its managed evaluator, its weights in the trace.
    /// </summary>
    /// <exception cref="TelosInputException">A neural card (load it through Telos.Learning's ObjectiveFiles), a feature the maze lacks, or an unknown planner.</exception>
    public static MazePlanOutcome Plan(Maze maze, ObjectiveCard card, string planner = "bfs", PlanBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        var evaluator = new FeatureObjectiveEvaluator<MazeState>(maze, card.Compile());
        return Plan(maze, evaluator, planner, budget, PlanTrace.LinearWeights(card));
    }

    /// <summary>
    /// The maze with a path over it, one line per row ('\n'): the environment's own picture of the
    /// final state (<see cref="Maze.Render"/>: <c>#</c> wall, <c>.</c> open, <c>C</c> cheese, <c>M</c> the
    /// mouse where it ended, <c>*</c> the mouse on the cheese) with <c>S</c> on the start and <c>o</c> on
    /// every other cell the path passed through.
    /// </summary>
    public static string Render(Maze maze, IReadOnlyList<int> cells)
    {
        ArgumentNullException.ThrowIfNull(maze);
        ArgumentNullException.ThrowIfNull(cells);
        return MazeFamily.Instance.RenderPath(maze, [.. cells.Select((cell, t) => new MazeState(cell, t))]);
    }
}
