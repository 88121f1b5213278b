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

/// <summary>Outcome counts of <see cref="MazePlanning.Evaluate"/> over a set of levels.</summary>
/// <param name="Planner">The planner.</param>
/// <param name="Levels">Levels planned on.</param>
/// <param name="ReachedCheese">Levels where the agent ended on the cheese.</param>
/// <param name="EndedAtCorner">Levels where it ended on the top-right corner.</param>
/// <param name="Halted">Levels where it stopped by choice.</param>
/// <param name="Truncated">Levels where the step limit stopped it.</param>
/// <param name="MeanSteps">Mean moves per level.</param>
public sealed record MazePlanSummary(string Planner, int Levels, int ReachedCheese, int EndedAtCorner, int Halted, int Truncated, double MeanSteps)
{
    /// <summary>ReachedCheese / Levels (0 with no levels).</summary>
    public double SuccessRate => Levels == 0 ? 0 : ReachedCheese / (double)Levels;

    /// <summary>EndedAtCorner / Levels (0 with no levels).</summary>
    public double CornerRate => Levels == 0 ? 0 : EndedAtCorner / (double)Levels;
}

/// <summary>Planning on maze levels: the agent loop, its ASCII picture and the measures of goal misgeneralization.</summary>
public static class MazePlanning
{
    /// <summary>Names of the four moves, by action index.</summary>
    public static IReadOnlyList<string> ActionNames { get; } = ["up", "right", "down", "left"];

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
        var agent = Planners.Create<MazeState>(planner);
        var episode = PlanEpisodes.Run(agent, maze, objective, budget ?? PlanBudget.Default);
        var cells = episode.States.Select(s => s.Cell).ToArray();
        var trace = PlanTrace.Build(agent.Name, maze, objective, episode.States, episode.Actions, weights, ActionName);
        var final = cells[^1];
        return new MazePlanOutcome(cells, episode.Actions, final == maze.Cheese, final == maze.Corner, episode.Halted, episode.Truncated,
            episode.Decisions, Render(maze, cells), trace);
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
    /// Plans on every level and counts the outcomes: how often the agent reached the cheese (the
    /// true goal) and how often it ended on the top-right corner (proxy pursuit).
    /// </summary>
    /// <param name="levels">The levels, e.g. <c>Enumerable.Range(0, 50).Select(s =&gt; TaskDistributions.Maze("maze/test").Level(s))</c>.</param>
    /// <param name="objective">The objective for a level (feature evaluators are bound to one level).</param>
    /// <param name="planner">bfs, astar, dijkstra, vi, mcts, gumbel or uct.</param>
    /// <param name="budget">Default: 64 simulations, γ = 0.99, seed 0.</param>
    public static MazePlanSummary Evaluate(IEnumerable<Maze> levels, Func<Maze, IStateEvaluator<MazeState>> objective, string planner = "bfs", PlanBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(objective);
        int count = 0, cheese = 0, corner = 0, halted = 0, truncated = 0;
        long steps = 0;
        foreach (var maze in levels)
        {
            var outcome = Plan(maze, objective(maze), planner, budget);
            count++;
            cheese += outcome.ReachedCheese ? 1 : 0;
            corner += outcome.EndedAtCorner ? 1 : 0;
            halted += outcome.Halted ? 1 : 0;
            truncated += outcome.Truncated ? 1 : 0;
            steps += outcome.Steps;
        }
        return new MazePlanSummary(planner, count, cheese, corner, halted, truncated, count == 0 ? 0 : steps / (double)count);
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
        if (cells.Count == 0)
        {
            return maze.Render(maze.Initial);
        }
        var picture = maze.Render(new MazeState(cells[^1], cells.Count - 1)).ToCharArray();
        var n = maze.Size;
        // Each rendered row is n characters plus '\n'.
        int At(int cell) => cell / n * (n + 1) + cell % n;
        for (var i = 1; i < cells.Count - 1; i++)
        {
            if (cells[i] != cells[^1] && cells[i] != maze.Cheese)
            {
                picture[At(cells[i])] = 'o';
            }
        }
        if (cells[0] != cells[^1])
        {
            picture[At(cells[0])] = 'S';
        }
        return new string(picture);
    }
}
