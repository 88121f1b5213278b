using System.Diagnostics;
using Telos.Randomness;

namespace Telos.Environments;

/// <summary>One batch step: [N] actions in, [N] rewards, terminated and truncated flags out.</summary>
public delegate void BatchStep(ReadOnlySpan<int> actions, Span<float> rewards, Span<bool> terminated, Span<bool> truncated);

/// <summary>
/// Measures batch stepping in environment steps per second (batch size × batch steps / seconds),
/// for <c>telos env bench</c> and the <c>maze-step</c> peer comparison. Actions are drawn uniformly
/// at random ahead of time (a table of 64 action rows, cycled), so the timing covers stepping and
/// auto-resets only. The median over repeats is reported, after at least half a second of untimed warm-up.
/// </summary>
public static class BatchThroughput
{
    /// <summary>One measurement.</summary>
    /// <param name="StepsPerSecond">Median over the repeats of environment steps per wall-clock second.</param>
    /// <param name="StepsPerCpuSecond">
    /// Median over the repeats of environment steps per second of process CPU time: on a shared
    /// machine, time spent descheduled does not count, so this is the steadier number.
    /// </param>
    /// <param name="Repeats">Timed repeats the medians are over.</param>
    /// <param name="StepsPerRepeat">Environment steps in one repeat.</param>
    public readonly record struct Result(double StepsPerSecond, double StepsPerCpuSecond, int Repeats, long StepsPerRepeat);

    /// <summary>Pool size used by the measurements (levels pre-generated per batch).</summary>
    public const int PoolSize = 1024;

    /// <summary>Times the batch form of a registered distribution (<see cref="IEnvironmentFamily{TState}.Batch"/>: the maze's fast path, the generic one elsewhere).</summary>
    /// <param name="distribution">A registered distribution.</param>
    /// <param name="parameters">Its parameters.</param>
    /// <param name="batch">Number of environments N.</param>
    /// <param name="encodeObservations">Maintain the one-hot observations.</param>
    /// <param name="batchSteps">Batch steps per timed repeat.</param>
    /// <param name="repeats">Timed repeats.</param>
    /// <param name="vectorized">Let a fast form use SIMD (false: its scalar loop).</param>
    /// <param name="seed">Seed of the pool, the reset stream and the actions.</param>
    /// <exception cref="TelosInputException">Unknown distribution, bad parameters, or sizes below 1.</exception>
    public static Result Family(string distribution, DistributionParameters parameters, int batch, bool encodeObservations, int batchSteps = 2000, int repeats = 7,
        bool vectorized = true, ulong seed = 0)
    {
        if (batch < 1 || batchSteps < 1 || repeats < 1)
        {
            throw new TelosInputException($"batch, steps and repeats must be at least 1 (got {batch}, {batchSteps}, {repeats})");
        }
        return EnvironmentFamilies.Run(distribution, new FamilyMeasurement(distribution, parameters, batch, encodeObservations, batchSteps, repeats, vectorized, seed));
    }

    private sealed record FamilyMeasurement(string Distribution, DistributionParameters Parameters, int Batch, bool Encode, int BatchSteps, int Repeats, bool Vectorized, ulong Seed)
        : IFamilyOperation<Result>
    {
        public Result Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var env = family.Batch(family.Distribution(Distribution, Parameters), Batch, Seed, Encode, Vectorized, PoolSize);
            return Measure(env.Step, Batch, env.ActionCount, BatchSteps, Repeats, Seed);
        }
    }

    /// <summary>Times <see cref="BatchedMaze"/> (the maze fast path).</summary>
    /// <param name="distribution">Levels; the pool holds <see cref="PoolSize"/> of them.</param>
    /// <param name="batch">Number of environments N.</param>
    /// <param name="encodeObservations">Maintain the one-hot observations.</param>
    /// <param name="batchSteps">Batch steps per timed repeat.</param>
    /// <param name="repeats">Timed repeats (odd gives a true median).</param>
    /// <param name="seed">Seed of the pool, the reset stream and the actions.</param>
    /// <param name="progress">Reports each finished repeat.</param>
    /// <param name="vectorized">Let <see cref="BatchedMaze"/> use its AVX2 path (<see cref="BatchedMaze.Vectorized"/>).</param>
    public static Result Maze(ITaskDistribution<Maze> distribution, int batch, bool encodeObservations, int batchSteps = 2000, int repeats = 7, ulong seed = 0, IProgress<ProgressUpdate>? progress = null, bool vectorized = true)
    {
        var env = new BatchedMaze(distribution, batch, seed, PoolSize, encodeObservations) { Vectorized = vectorized };
        return Measure(env.Step, batch, env.ActionCount, batchSteps, repeats, seed, progress);
    }

    /// <summary>Times the generic <see cref="BatchedEnvironment{TState}"/> over any family.</summary>
    public static Result Generic<TState>(ITaskDistribution<IEnvironment<TState>> distribution, int batch, bool encodeObservations, int batchSteps = 2000, int repeats = 7, ulong seed = 0, IProgress<ProgressUpdate>? progress = null)
        where TState : struct
    {
        var env = new BatchedEnvironment<TState>(distribution, batch, seed, PoolSize, encodeObservations);
        return Measure(env.Step, batch, env.ActionCount, batchSteps, repeats, seed, progress);
    }

    /// <summary>Times <paramref name="step"/> over <paramref name="batch"/> environments.</summary>
    public static Result Measure(BatchStep step, int batch, int actionCount, int batchSteps = 2000, int repeats = 7, ulong seed = 0, IProgress<ProgressUpdate>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        const int rows = 64;
        var actions = new int[rows * batch];
        var rng = Seeds.Stream(seed, "batch-throughput/actions");
        for (var i = 0; i < actions.Length; i++)
        {
            actions[i] = rng.NextInt(actionCount);
        }
        var rewards = new float[batch];
        var terminated = new bool[batch];
        var truncated = new bool[batch];
        // Warm-up until the JIT has had time to promote the step loop to optimized code (at least
        // one repeat and half a second; tiering waits ~100 ms and compiles in the background).
        var warmupStart = Stopwatch.GetTimestamp();
        do
        {
            for (var t = 0; t < batchSteps; t++)
            {
                step(actions.AsSpan((t % rows) * batch, batch), rewards, terminated, truncated);
            }
        }
        while (Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < 0.5);
        var rates = new double[repeats];
        var cpuRates = new double[repeats];
        for (var r = 0; r < repeats; r++)
        {
            // Environment.CpuUsage reads getrusage (microseconds); Process.TotalProcessorTime has 10 ms ticks on Linux.
            var cpuStart = Environment.CpuUsage.TotalTime;
            var start = Stopwatch.GetTimestamp();
            for (var t = 0; t < batchSteps; t++)
            {
                step(actions.AsSpan((t % rows) * batch, batch), rewards, terminated, truncated);
            }
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var cpuSeconds = Math.Max((Environment.CpuUsage.TotalTime - cpuStart).TotalSeconds, 1e-6);
            rates[r] = (double)batchSteps * batch / seconds;
            cpuRates[r] = (double)batchSteps * batch / cpuSeconds;
            progress?.Report(new ProgressUpdate("env bench", r + 1, repeats));
        }
        return new Result(Median(rates), Median(cpuRates), repeats, (long)batchSteps * batch);
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        var n = values.Length;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}
