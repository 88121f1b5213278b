namespace Telos.Environments;

/// <summary>
/// The batch environment form RL trains on: N environments of one distribution stepped together
/// with auto-reset and no allocation per step. A level pool is generated once; an environment whose
/// episode ends restarts at a pool level drawn from a seeded stream, and the state it ended in stays
/// readable through <see cref="FinalState"/> until its next episode ends.
/// </summary>
/// <typeparam name="TState">The family's state.</typeparam>
public interface IBatchedEnvironment<TState>
    where TState : struct
{
    /// <summary>Number of environments, N.</summary>
    int Count { get; }

    /// <summary>Actions per environment, A.</summary>
    int ActionCount { get; }

    /// <summary>C×H×W of one observation.</summary>
    ObservationShape ObservationShape { get; }

    /// <summary>Whether <see cref="Observations"/> is maintained.</summary>
    bool EncodesObservations { get; }

    /// <summary>[N, C, H, W] one-hot observations of the current states (empty unless encoding).</summary>
    ReadOnlySpan<float> Observations { get; }

    /// <summary>The level environment <paramref name="env"/> is playing.</summary>
    IEnvironment<TState> CurrentLevel(int env);

    /// <summary>The current state of environment <paramref name="env"/>.</summary>
    TState CurrentState(int env);

    /// <summary>The state environment <paramref name="env"/>'s last finished episode ended in.</summary>
    TState FinalState(int env);

    /// <summary>The level of that episode.</summary>
    IEnvironment<TState> FinalLevel(int env);

    /// <summary>Writes the final state's observation (for bootstrapping a truncated episode).</summary>
    void WriteFinalObservation(int env, Span<float> observation);

    /// <summary>Writes [N, F] features of the current states.</summary>
    void WriteFeatures(Span<double> features);

    /// <summary>Steps every environment: [N] actions in, [N] rewards and flags out; finished environments are already reset.</summary>
    void Step(ReadOnlySpan<int> actions, Span<float> rewards, Span<bool> terminated, Span<bool> truncated);

    /// <summary>
    /// A copy of everything <see cref="Step"/> reads or writes besides the level pool: each
    /// environment's level, state and step count, the final states, and the reset stream's position.
    /// </summary>
    /// <exception cref="NotSupportedException">The family's state holds references and cannot be copied as bytes.</exception>
    BatchedEnvironmentState SaveState();

    /// <summary>
    /// Puts back a state <see cref="SaveState"/> returned from environments built the same way (same
    /// distribution, count, seed and pool size); observations are rewritten from the restored states.
    /// </summary>
    /// <exception cref="TelosInputException">An array is missing, of the wrong type or length, or out of range; nothing is changed then.</exception>
    void RestoreState(BatchedEnvironmentState state);
}
