using BenchmarkDotNet.Attributes;
using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Benchmarks.Objectives;

/// <summary>
/// The planning hot path of a compiled linear objective: V for a batch of N states over
/// precomputed features [N, F] (F = 8 is the maze's feature count). States/s = N / mean time.
/// The batch (N·F·8 bytes = 256 KiB at N = 4096, F = 8) stays in L2, as a search wave's leaves do.
/// Run: dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*CompiledObjective*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class CompiledObjectiveBenchmarks
{
    private CompiledLinearObjective _objective = null!;
    private FeatureObjectiveEvaluator<MazeState> _evaluator = null!;
    private double[] _features = [];
    private double[] _values = [];
    private MazeState[] _states = [];

    [Params(8, 32)]
    public int Features { get; set; }

    [Params(4096)]
    public int States { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        var schema = new FeatureSchema(Enumerable.Range(0, Features).Select(i => $"f{i}"));
        var weights = Enumerable.Range(0, Features).Select(_ => rng.NextGaussian()).ToArray();
        _objective = new CompiledLinearObjective(schema, weights, 0.5);
        _features = Enumerable.Range(0, States * Features).Select(_ => rng.NextGaussian()).ToArray();
        _values = new double[States];

        var maze = TaskDistributions.Maze("maze/test", size: 25).Level(1);
        var card = ObjectiveCard.Linear(Maze.FeatureNames.Names.Select(n => new KeyValuePair<string, double>(n, rng.NextGaussian())));
        _evaluator = new FeatureObjectiveEvaluator<MazeState>(maze, card.Compile());
        _states = Enumerable.Range(0, States).Select(i => maze.StateAt(i % maze.StateCount)).ToArray();
    }

    /// <summary>Dot products over precomputed features: the number the issue's ≥ 100 M states/s target is about.</summary>
    [Benchmark]
    public void LinearOverPrecomputedFeatures() => _objective.Evaluate(_features, _values);

    /// <summary>What a planner pays per wave: the maze writes each state's 8 features, then the dot products (F param unused).</summary>
    [Benchmark]
    public void MazeStatesThroughFeatureObjectiveEvaluator() => _evaluator.Evaluate(_states, _values);
}
