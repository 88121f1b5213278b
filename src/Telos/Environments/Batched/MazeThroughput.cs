using System.Diagnostics;
using Telos.Randomness;

namespace Telos.Environments;

/// <summary>
/// Measures batch maze stepping in steps per second (environment steps, i.e. batch size × batch
/// steps), for <c>telos env bench</c> and the <c>maze-step</c> peer comparison. Actions are drawn
/// uniformly at random ahead of time (a table of 64 action rows, cycled), so the timing covers
/// stepping and auto-resets only.
/// </summary>
public static class MazeThroughput
{
    /// <summary>One measurement.</summary>
    /// <param name="StepsPerSecond">Median over the repeats of environment steps per second.</param>
    /// <param name="Repeats">Timed repeats the median is over.</param>
    /// <param name="StepsPerRepeat">Environment steps in one repeat.</param>
    public readonly record struct Result(double StepsPerSecond, int Repeats, long StepsPerRepeat);

    /// <summary>Times <paramref name="batchSteps"/> batch steps of <paramref name="batch"/> mazes, <paramref name="repeats"/> times after one warm-up repeat.</summary>
    /// <param name="distribution">Levels; the pool holds 1024 of them.</param>
    /// <param name="batch">Number of environments N.</param>
    /// <param name="encodeObservations">Whether the one-hot observations are maintained.</param>
    /// <param name="batchSteps">Batch steps per repeat.</param>
    /// <param name="repeats">Timed repeats (odd gives a true median).</param>
    /// <param name="seed">Seed of the pool, the reset stream and the actions.</param>
    /// <param name="progress">Reports each finished repeat.</param>
    public static Result Measure(ITaskDistribution<Maze> distribution, int batch, bool encodeObservations, int batchSteps = 2000, int repeats = 7, ulong seed = 0, IProgress<ProgressUpdate>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        var env = new BatchedMaze(distribution, batch, seed, poolSize: 1024, encodeObservations);
        const int rows = 64;
        var actions = new int[rows * batch];
        var rng = Seeds.Stream(seed, "maze-throughput/actions");
        for (var i = 0; i < actions.Length; i++)
        {
            actions[i] = rng.NextInt(4);
        }
        var rewards = new float[batch];
        var terminated = new bool[batch];
        var truncated = new bool[batch];
        var rates = new double[repeats];
        for (var r = -1; r < repeats; r++)
        {
            var start = Stopwatch.GetTimestamp();
            for (var t = 0; t < batchSteps; t++)
            {
                env.Step(actions.AsSpan((t % rows) * batch, batch), rewards, terminated, truncated);
            }
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (r >= 0)
            {
                rates[r] = (double)batchSteps * batch / seconds;
                progress?.Report(new ProgressUpdate("maze step", r + 1, repeats));
            }
        }
        Array.Sort(rates);
        var median = repeats % 2 == 1 ? rates[repeats / 2] : 0.5 * (rates[repeats / 2 - 1] + rates[repeats / 2]);
        return new Result(median, repeats, (long)batchSteps * batch);
    }
}
