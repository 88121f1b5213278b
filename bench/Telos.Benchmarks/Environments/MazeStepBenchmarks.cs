using BenchmarkDotNet.Attributes;
using Telos.Environments;
using Telos.Randomness;

namespace Telos.Benchmarks.Environments;

/// <summary>
/// One batch step of 1024 13×13 mazes (random actions, auto-reset from a 1024-level pool): AVX2 or
/// scalar, without or with incremental one-hot observations. Environment steps per second = 1024 / mean time.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*MazeStep*'</c>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MazeStepBenchmarks
{
    private const int Batch = 1024;
    private const int Rows = 64;
    private BatchedMaze _env = null!;
    private int[] _actions = [];
    private float[] _rewards = [];
    private bool[] _terminated = [];
    private bool[] _truncated = [];
    private int _row;

    /// <summary>How the batch steps: AVX2 eight at a time or scalar, without or with one-hot observations.</summary>
    public enum StepMode
    {
        Vectorized,
        Scalar,
        Encoded,
        EncodedScalar,
    }

    [Params(StepMode.Vectorized, StepMode.Scalar, StepMode.Encoded, StepMode.EncodedScalar)]
    public StepMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _env = new BatchedMaze(TaskDistributions.Maze("maze/test", 13), Batch, seed: 0, poolSize: 1024, encodeObservations: Mode is StepMode.Encoded or StepMode.EncodedScalar)
        {
            Vectorized = Mode is StepMode.Vectorized or StepMode.Encoded,
        };
        _actions = new int[Rows * Batch];
        var rng = new Rng(1);
        for (var i = 0; i < _actions.Length; i++)
        {
            _actions[i] = rng.NextInt(4);
        }
        _rewards = new float[Batch];
        _terminated = new bool[Batch];
        _truncated = new bool[Batch];
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void StepBatch()
    {
        _row = (_row + 1) % Rows;
        _env.Step(_actions.AsSpan(_row * Batch, Batch), _rewards, _terminated, _truncated);
    }
}
