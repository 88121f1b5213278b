using System.Security.Cryptography;
using System.Runtime.InteropServices;
using Telos.Environments;
using Telos.Randomness;

namespace Telos.Objectives;

/// <summary>
/// Transitions (s, s′) as features, with terminal flags, plus the coverage states D_S that EPIC's
/// canonicalization averages over. Rows are feature vectors in <see cref="Features"/> order, so
/// the sample can span many levels of a distribution (a maze state means nothing without its level).
/// </summary>
public sealed class TransitionSample
{
    /// <param name="features">Column names, F.</param>
    /// <param name="from">[N, F] features of sᵢ.</param>
    /// <param name="fromTerminal">[N].</param>
    /// <param name="to">[N, F] features of s′ᵢ.</param>
    /// <param name="toTerminal">[N].</param>
    /// <param name="coverage">[M, F] features of states drawn from D_S.</param>
    /// <param name="coverageTerminal">[M].</param>
    /// <exception cref="ArgumentException">Shapes disagree or N or M is 0.</exception>
    /// <param name="rewards">[N] the environment's reward of each transition, or null.</param>
    /// <param name="toObservations">[N, C·H·W] one-hot observations of s′ᵢ, or null.</param>
    /// <param name="observationShape">C×H×W of <paramref name="toObservations"/>.</param>
    public TransitionSample(FeatureSchema features, double[] from, bool[] fromTerminal, double[] to, bool[] toTerminal, double[] coverage, bool[] coverageTerminal,
        double[]? rewards = null, float[]? toObservations = null, ObservationShape? observationShape = null)
    {
        var f = features.Count;
        if (fromTerminal.Length == 0 || coverageTerminal.Length == 0)
        {
            throw new ArgumentException("a transition sample needs at least one transition and one coverage state");
        }
        ObjectiveShapes.Check(from.Length, fromTerminal.Length, f, nameof(from));
        ObjectiveShapes.Check(to.Length, fromTerminal.Length, f, nameof(to));
        if (toTerminal.Length != fromTerminal.Length)
        {
            throw new ArgumentException("toTerminal length differs from fromTerminal", nameof(toTerminal));
        }
        ObjectiveShapes.Check(coverage.Length, coverageTerminal.Length, f, nameof(coverage));
        Features = features;
        From = from;
        FromTerminal = fromTerminal;
        To = to;
        ToTerminal = toTerminal;
        Coverage = coverage;
        CoverageTerminal = coverageTerminal;
        if (rewards is not null && rewards.Length != fromTerminal.Length)
        {
            throw new ArgumentException("one reward per transition", nameof(rewards));
        }
        Rewards = rewards;
        if (toObservations is not null && (observationShape is null || toObservations.Length != fromTerminal.Length * observationShape.Value.Size))
        {
            throw new ArgumentException("observations must be [N, C·H·W] with a shape", nameof(toObservations));
        }
        ToObservations = toObservations;
        ObservationShape = observationShape;
    }

    /// <summary>
    /// [N] whether row i+1 continues the episode of row i (its s equals row i's s′). False at the
    /// last row, after termination, and where a walk restarted. Null when unknown.
    /// </summary>
    public bool[]? Continues { get; init; }

    /// <summary>[N] environment rewards, when collected.</summary>
    public double[]? Rewards { get; }

    /// <summary>[N, C·H·W] observations of s′, when collected.</summary>
    public float[]? ToObservations { get; }

    /// <summary>C×H×W of <see cref="ToObservations"/>.</summary>
    public ObservationShape? ObservationShape { get; }

    public FeatureSchema Features { get; }

    /// <summary>N.</summary>
    public int Count => FromTerminal.Length;

    /// <summary>M.</summary>
    public int CoverageCount => CoverageTerminal.Length;

    public double[] From { get; }
    public bool[] FromTerminal { get; }
    public double[] To { get; }
    public bool[] ToTerminal { get; }
    public double[] Coverage { get; }
    public bool[] CoverageTerminal { get; }

    /// <summary>First 16 hex chars of SHA-256 over the sample's bytes: provenance for cards trained on it.</summary>
    public string Hash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(MemoryMarshal.AsBytes(From.AsSpan()));
        sha.AppendData(MemoryMarshal.AsBytes(To.AsSpan()));
        sha.AppendData(MemoryMarshal.AsBytes(ToTerminal.AsSpan()));
        if (Rewards is not null)
        {
            sha.AppendData(MemoryMarshal.AsBytes(Rewards.AsSpan()));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>
    /// The columns of <paramref name="features"/> (in that order) of up to <paramref name="maxRows"/>
    /// states, evenly strided over the sample: rows of s (<paramref name="next"/> false) or of s′.
    /// Returns [rows · |features|] row-major.
    /// </summary>
    /// <exception cref="TelosInputException">A feature the sample does not have; the message names it.</exception>
    public double[] FeatureRows(IReadOnlyList<string> features, bool next = false, int maxRows = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var columns = features.Select(Features.Require).ToArray();
        var source = next ? To : From;
        var f = Features.Count;
        var rows = Math.Min(maxRows, Count);
        var stride = Math.Max(1, Count / Math.Max(1, rows));
        var result = new double[rows * columns.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns.Length; c++)
            {
                result[r * columns.Length + c] = source[r * stride * f + columns[c]];
            }
        }
        return result;
    }

    /// <summary>
    /// Samples transitions by uniform random walks: for each level <c>levelOf(firstSeed + k)</c>,
    /// <paramref name="stepsPerLevel"/> steps from the start state with uniformly chosen legal actions,
    /// restarting at the start when an episode ends. Coverage D_S is the set of visited next states.
    /// Deterministic in <paramref name="seed"/>.
    /// </summary>
    /// <param name="levelOf">Level by seed (e.g. a task distribution's <c>Level</c>).</param>
    /// <param name="levels">Number of levels, ≥ 1.</param>
    /// <param name="stepsPerLevel">Transitions per level, ≥ 1.</param>
    /// <param name="seed">Root seed of the walk.</param>
    /// <param name="firstSeed">Seed of the first level.</param>
    /// <param name="episodeLength">Steps before a walk restarts even without termination; 0 = the environment's step limit.</param>
    /// <param name="uniformStarts">
    /// For enumerable levels, start each walk from a uniformly drawn state instead of the start state
    /// (better coverage of far cells). Absorbing terminal states (stepping them terminates in place) are skipped.
    /// </param>
    /// <param name="observations">Also record the one-hot observation of every s′.</param>
    public static TransitionSample Collect<TState>(Func<long, IEnvironment<TState>> levelOf, int levels, int stepsPerLevel, ulong seed, long firstSeed = 0, int episodeLength = 0,
        bool uniformStarts = false, bool observations = false)
        where TState : struct
    {
        if (levels < 1 || stepsPerLevel < 1)
        {
            throw new TelosInputException($"a transition sample needs levels ≥ 1 and steps ≥ 1 (got {levels} and {stepsPerLevel})");
        }
        var first = levelOf(firstSeed);
        var schema = first.Features;
        var f = schema.Count;
        var n = levels * stepsPerLevel;
        var from = new double[n * f];
        var to = new double[n * f];
        var toTerminal = new bool[n];
        var rewards = new double[n];
        var continues = new bool[n];
        var shape = first.ObservationShape;
        var obs = observations ? new float[n * shape.Size] : null;
        var rng = Seeds.Stream(seed, "transition-sample");
        var row = 0;
        for (var k = 0; k < levels; k++)
        {
            var env = k == 0 ? first : levelOf(firstSeed + k);
            if (!env.Features.Equals(schema))
            {
                throw new TelosInputException($"level {firstSeed + k} of '{env.Name}' has features {env.Features}, level {firstSeed} has {schema}");
            }
            var legal = new bool[env.ActionCount];
            var choices = new int[env.ActionCount];
            var limit = episodeLength > 0 ? episodeLength : Math.Max(1, env.StepLimit);
            var state = StartOf(env, uniformStarts, ref rng);
            var t = 0;
            for (var step = 0; step < stepsPerLevel; step++, row++)
            {
                env.LegalActions(state, legal);
                var count = 0;
                for (var a = 0; a < legal.Length; a++)
                {
                    if (legal[a])
                    {
                        choices[count++] = a;
                    }
                }
                var action = count == 0 ? 0 : choices[rng.NextInt(count)];
                var result = env.Step(state, action);
                env.WriteFeatures(state, from.AsSpan(row * f, f));
                env.WriteFeatures(result.Next, to.AsSpan(row * f, f));
                toTerminal[row] = result.Terminated;
                rewards[row] = result.Reward;
                if (obs is not null)
                {
                    env.WriteObservation(result.Next, obs.AsSpan(row * shape.Size, shape.Size));
                }
                t++;
                var restart = result.Done || t >= limit;
                continues[row] = !restart && step + 1 < stepsPerLevel;
                if (restart)
                {
                    state = StartOf(env, uniformStarts, ref rng);
                    t = 0;
                }
                else
                {
                    state = result.Next;
                }
            }
        }
        return new TransitionSample(schema, from, new bool[n], to, toTerminal, (double[])to.Clone(), (bool[])toTerminal.Clone(), rewards, obs, observations ? shape : null)
        {
            Continues = continues,
        };
    }

    private static TState StartOf<TState>(IEnvironment<TState> env, bool uniform, ref Rng rng)
        where TState : struct
    {
        if (!uniform || env is not IEnumerableEnvironment<TState> enumerable)
        {
            return env.Initial;
        }
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var state = enumerable.StateAt(rng.NextInt(enumerable.StateCount));
            var probe = env.Step(state, 0);
            if (!(probe.Terminated && enumerable.IndexOf(probe.Next) == enumerable.IndexOf(state)))
            {
                return state;
            }
        }
        return env.Initial;
    }
}
