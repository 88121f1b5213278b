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
    public TransitionSample(FeatureSchema features, double[] from, bool[] fromTerminal, double[] to, bool[] toTerminal, double[] coverage, bool[] coverageTerminal)
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
    }

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
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
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
    public static TransitionSample Collect<TState>(Func<long, IEnvironment<TState>> levelOf, int levels, int stepsPerLevel, ulong seed, long firstSeed = 0, int episodeLength = 0)
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
            var state = env.Initial;
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
                t++;
                if (result.Done || t >= limit)
                {
                    state = env.Initial;
                    t = 0;
                }
                else
                {
                    state = result.Next;
                }
            }
        }
        return new TransitionSample(schema, from, new bool[n], to, toTerminal, (double[])to.Clone(), (bool[])toTerminal.Clone());
    }
}
