using BenchmarkDotNet.Attributes;
using Telos.Environments;
using Telos.Objectives;
using Telos.Planning;
using Telos.Planning.Exact;

namespace Telos.Benchmarks.Planning;

/// <summary>
/// One decision of each planner from the start of a 25×25 <c>maze/test</c> level with a compiled
/// linear objective (the <see cref="PlanBench"/> weights): what an agent pays per step.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*PlannerBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class PlannerBenchmarks
{
    private Maze _maze = null!;
    private IStateEvaluator<MazeState> _objective = null!;
    private readonly BreadthFirstPlanner<MazeState> _bfs = new();
    private readonly ValueIterationPlanner<MazeState> _vi = new();
    private readonly MctsPlanner<MazeState> _puct = MctsPlanner<MazeState>.Puct();
    private readonly MctsPlanner<MazeState> _gumbel = MctsPlanner<MazeState>.Gumbel();
    private readonly PlanBudget _budget = new(Simulations: 64);

    [GlobalSetup]
    public void Setup()
    {
        _maze = TaskDistributions.Maze("maze/test", 25).Level(0);
        var names = PlanBench.Weights.Keys.ToArray();
        _objective = new FeatureObjectiveEvaluator<MazeState>(_maze, new CompiledLinearObjective(new FeatureSchema(names), PlanBench.Weights.Values.ToArray()));
    }

    [Benchmark]
    public int Bfs() => _bfs.Decide(_maze.Initial, _maze, _objective, _budget).Action;

    [Benchmark]
    public int ValueIteration() => _vi.Decide(_maze.Initial, _maze, _objective, _budget).Action;

    [Benchmark]
    public int PuctSims64() => _puct.Decide(_maze.Initial, _maze, _objective, _budget).Action;

    [Benchmark]
    public int GumbelSims64() => _gumbel.Decide(_maze.Initial, _maze, _objective, _budget).Action;
}
