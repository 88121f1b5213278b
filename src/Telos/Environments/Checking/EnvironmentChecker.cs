using Telos.Randomness;

namespace Telos.Environments;

/// <summary>What <see cref="EnvironmentChecker"/> found: empty <see cref="Failures"/> means the environment passed.</summary>
/// <param name="Environment">The environment's name.</param>
/// <param name="StepsChecked">Transitions examined.</param>
/// <param name="Failures">One line per problem found (at most <see cref="EnvironmentChecker.MaxFailures"/>).</param>
public sealed record EnvironmentCheckReport(string Environment, int StepsChecked, IReadOnlyList<string> Failures)
{
    /// <summary>No problem found.</summary>
    public bool Passed => Failures.Count == 0;
}

/// <summary>
/// Checks that an environment keeps the contract planners and learners rely on, in the spirit of
/// Stable-Baselines3's <c>check_env</c>: random rollouts from the initial state, and at every visited
/// state — determinism and purity of <c>Step</c> (same arguments, same result, even after other calls;
/// the input state unchanged), rewards finite and inside the declared bounds, never both terminated
/// and truncated, every episode over by the step limit with truncation exactly there, at least one
/// legal action, finite and repeatable features, observations of the declared shape holding only
/// 0 and 1 and not writing past it, and for enumerable environments a state index in range that
/// round-trips.
/// </summary>
public static class EnvironmentChecker
{
    /// <summary>The report keeps at most this many failures.</summary>
    public const int MaxFailures = 20;

    /// <summary>Checks levels 0..<paramref name="levels"/>−1 of a registered distribution, each with the family's reward bounds and its seed as the action seed.</summary>
    /// <exception cref="TelosInputException">Unknown distribution, bad parameters, or fewer than one level.</exception>
    public static IReadOnlyList<EnvironmentCheckReport> CheckDistribution(string distribution, DistributionParameters parameters, int levels)
    {
        if (levels < 1)
        {
            throw new TelosInputException($"levels {levels} must be at least 1");
        }
        return EnvironmentFamilies.Run(distribution, new DistributionCheck(distribution, parameters, levels));
    }

    private sealed record DistributionCheck(string Distribution, DistributionParameters Parameters, int Levels) : IFamilyOperation<IReadOnlyList<EnvironmentCheckReport>>
    {
        public IReadOnlyList<EnvironmentCheckReport> Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var levels = family.Distribution(Distribution, Parameters);
            var (min, max) = family.RewardBounds;
            return [.. Enumerable.Range(0, Levels).Select(seed => Check(levels.Level(seed), min, max, (ulong)seed))];
        }
    }

    /// <summary>Runs the checks.</summary>
    /// <param name="environment">The level to check.</param>
    /// <param name="minReward">Smallest reward one step may give.</param>
    /// <param name="maxReward">Largest reward one step may give.</param>
    /// <param name="seed">Seed of the random actions.</param>
    /// <param name="episodes">Random episodes to roll out (each to its end or the step limit).</param>
    public static EnvironmentCheckReport Check<TState>(IEnvironment<TState> environment, float minReward, float maxReward, ulong seed = 0, int episodes = 4)
        where TState : struct
    {
        var failures = new List<string>();
        void Fail(string message)
        {
            if (failures.Count < MaxFailures)
            {
                failures.Add(message);
            }
        }

        var actions = environment.ActionCount;
        var shape = environment.ObservationShape;
        if (actions < 1)
        {
            Fail($"action count {actions} is not positive");
        }
        if (shape.Channels < 1 || shape.Height < 1 || shape.Width < 1)
        {
            Fail($"observation shape {shape} is not positive");
        }
        if (environment.StepLimit < 1)
        {
            Fail($"step limit {environment.StepLimit} is not positive");
        }
        if (failures.Count > 0)
        {
            return new EnvironmentCheckReport(environment.Name, 0, failures);
        }
        if (!EqualityComparer<TState>.Default.Equals(environment.Initial, environment.Initial))
        {
            Fail("Initial differs between two reads");
        }

        var enumerable = environment as IEnumerableEnvironment<TState>;
        var features = new double[environment.Features.Count];
        var featuresAgain = new double[features.Length];
        var observation = new float[shape.Size + 1];
        var legal = new bool[actions];
        var rng = Seeds.Stream(seed, "environment-checker");
        var checkedSteps = 0;
        for (var episode = 0; episode < episodes && failures.Count < MaxFailures; episode++)
        {
            var state = environment.Initial;
            for (var t = 0; ; t++)
            {
                CheckState(environment, enumerable, state, features, featuresAgain, observation, legal, Fail);
                var action = rng.NextInt(actions);
                var copy = state;
                var first = environment.Step(state, action);
                var other = environment.Step(state, (action + 1) % actions);
                var second = environment.Step(state, action);
                checkedSteps++;
                if (!EqualityComparer<TState>.Default.Equals(state, copy))
                {
                    Fail($"Step changed its input state at episode {episode}, step {t}");
                }
                if (!EqualityComparer<StepResult<TState>>.Default.Equals(first, second))
                {
                    Fail($"Step is not deterministic/pure at episode {episode}, step {t}: {first} then {second} (another action in between gave {other})");
                }
                if (!float.IsFinite(first.Reward) || first.Reward < minReward || first.Reward > maxReward)
                {
                    Fail($"reward {first.Reward} outside [{minReward}, {maxReward}] at episode {episode}, step {t}");
                }
                if (first.Terminated && first.Truncated)
                {
                    Fail($"terminated and truncated together at episode {episode}, step {t}");
                }
                if (first.Truncated && t + 1 != environment.StepLimit)
                {
                    Fail($"truncated after {t + 1} steps; the step limit is {environment.StepLimit}");
                }
                if (first.Done)
                {
                    break;
                }
                if (t + 1 >= environment.StepLimit)
                {
                    Fail($"episode {episode} still running after the step limit of {environment.StepLimit}");
                    break;
                }
                state = first.Next;
            }
        }
        return new EnvironmentCheckReport(environment.Name, checkedSteps, failures);
    }

    private static void CheckState<TState>(
        IEnvironment<TState> environment, IEnumerableEnvironment<TState>? enumerable, TState state,
        double[] features, double[] featuresAgain, float[] observation, bool[] legal, Action<string> fail)
        where TState : struct
    {
        environment.LegalActions(state, legal);
        if (Array.IndexOf(legal, true) < 0)
        {
            fail($"no legal action in {state}");
        }
        environment.WriteFeatures(state, features);
        environment.WriteFeatures(state, featuresAgain);
        for (var i = 0; i < features.Length; i++)
        {
            if (!double.IsFinite(features[i]))
            {
                fail($"feature '{environment.Features.Names[i]}' is {features[i]} in {state}");
            }
            else if (features[i] != featuresAgain[i])
            {
                fail($"feature '{environment.Features.Names[i]}' differs between two writes in {state}");
            }
        }
        // A sentinel everywhere, including one float past the end: the write must clear its part and not touch the rest.
        Array.Fill(observation, 0.5f);
        environment.WriteObservation(state, observation.AsSpan(0, observation.Length - 1));
        if (observation[^1] != 0.5f)
        {
            fail($"WriteObservation wrote past {observation.Length - 1} floats");
        }
        for (var i = 0; i < observation.Length - 1; i++)
        {
            if (observation[i] is not (0f or 1f))
            {
                fail($"observation[{i}] = {observation[i]} in {state}; one-hot observations hold only 0 and 1");
                break;
            }
        }
        if (enumerable is not null)
        {
            var index = enumerable.IndexOf(state);
            if (index < 0 || index >= enumerable.StateCount)
            {
                fail($"state index {index} of {state} outside 0..{enumerable.StateCount - 1}");
            }
            else if (enumerable.IndexOf(enumerable.StateAt(index)) != index)
            {
                fail($"state index {index} does not round-trip through StateAt");
            }
        }
    }
}
