namespace Telos.Environments;

/// <summary>The outcome of one pure step.</summary>
/// <param name="Next">The state after the action.</param>
/// <param name="Reward">The environment's own (true) reward for the transition.</param>
/// <param name="Terminated">The episode ended inside the MDP (goal reached, nothing left to do).</param>
/// <param name="Truncated">The episode was cut by the step limit; bootstrapping should continue through it.</param>
public readonly record struct StepResult<TState>(TState Next, float Reward, bool Terminated, bool Truncated)
    where TState : struct
{
    /// <summary>Either way the episode is over.</summary>
    public bool Done => Terminated || Truncated;
}

/// <summary>Channel, height and width of a one-hot symbolic observation, written C×H×W.</summary>
public readonly record struct ObservationShape(int Channels, int Height, int Width)
{
    /// <summary>C·H·W floats.</summary>
    public int Size => Channels * Height * Width;
}

/// <summary>
/// One level of an environment: a fixed layout plus a pure, deterministic step over immutable
/// state values, so any planner can branch from any state. Implementations never mutate shared
/// data in <see cref="Step"/>; two calls with the same arguments return equal results.
/// </summary>
/// <typeparam name="TState">A small immutable value: position, inventory, step count.</typeparam>
public interface IEnvironment<TState>
    where TState : struct
{
    /// <summary>The family name, e.g. "maze".</summary>
    string Name { get; }

    /// <summary>Where the level came from (distribution, parameters, seed), when a distribution made it; null otherwise.</summary>
    string? Provenance => null;

    /// <summary>Number of discrete actions, A. Actions are 0..A−1.</summary>
    int ActionCount { get; }

    /// <summary>The start state of this level.</summary>
    TState Initial { get; }

    /// <summary>Step limit of an episode; <see cref="StepResult{TState}.Truncated"/> is set when reached.</summary>
    int StepLimit { get; }

    /// <summary>Applies <paramref name="action"/> to <paramref name="state"/>. Pure.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The action is outside 0..A−1.</exception>
    StepResult<TState> Step(in TState state, int action);

    /// <summary>Writes A booleans: which actions are legal (change the state or are allowed no-ops) in <paramref name="state"/>.</summary>
    void LegalActions(in TState state, Span<bool> legal);

    /// <summary>The named scalar features of a state.</summary>
    FeatureSchema Features { get; }

    /// <summary>Writes <see cref="FeatureSchema.Count"/> features of <paramref name="state"/>.</summary>
    void WriteFeatures(in TState state, Span<double> features);

    /// <summary>Shape of the one-hot observation.</summary>
    ObservationShape ObservationShape { get; }

    /// <summary>Writes the full one-hot C×H×W observation of <paramref name="state"/> (clears first).</summary>
    void WriteObservation(in TState state, Span<float> observation);
}

/// <summary>An environment whose reachable states can be numbered 0..S−1 (exact planners, IRL).</summary>
public interface IEnumerableEnvironment<TState> : IEnvironment<TState>
    where TState : struct
{
    /// <summary>Number of states, S, including terminal ones; step counts are not part of the index.</summary>
    int StateCount { get; }

    /// <summary>The index of <paramref name="state"/> in 0..S−1.</summary>
    int IndexOf(in TState state);

    /// <summary>The state with index <paramref name="index"/> (step count 0).</summary>
    TState StateAt(int index);
}

/// <summary>
/// A named distribution of levels (<c>maze/train</c>, <c>kc/test</c>, ...). Level <c>seed</c> is a
/// pure function of (distribution, seed): identical across runs, processes and machines.
/// </summary>
public interface ITaskDistribution<out TEnvironment>
{
    /// <summary>The distribution's name, e.g. "maze/train".</summary>
    string Name { get; }

    /// <summary>The level with this seed.</summary>
    /// <exception cref="TelosInputException">The seed is negative.</exception>
    TEnvironment Level(long seed);
}
