using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Telos.Randomness;

namespace Telos.Environments;

/// <summary>
/// N environments of any family stepped together, with the same pool, auto-reset and final-state
/// conventions as <see cref="BatchedMaze"/>, but through the pure single-state <c>Step</c> of each
/// level: no allocation per step, one interface call per environment, and (when encoding) a full
/// observation rewrite per environment per step. <see cref="BatchedMaze"/> is the fast special case.
/// </summary>
/// <typeparam name="TState">The state type of the family.</typeparam>
public sealed class BatchedEnvironment<TState> : IBatchedEnvironment<TState>
    where TState : struct
{
    private readonly IEnvironment<TState>[] _pool;
    private readonly TState[] _states;
    private readonly int[] _level;
    private readonly TState[] _finalStates;
    private readonly int[] _finalLevel;
    private readonly float[] _observations;
    private Rng _levelStream;

    /// <summary>Creates <paramref name="count"/> environments at the starts of pool levels.</summary>
    /// <param name="distribution">Levels; all must share one observation shape and action count.</param>
    /// <param name="count">N ≥ 1.</param>
    /// <param name="seed">Seeds the pool and the reset stream.</param>
    /// <param name="poolSize">Pre-generated levels.</param>
    /// <param name="encodeObservations">Maintain <see cref="Observations"/>.</param>
    public BatchedEnvironment(ITaskDistribution<IEnvironment<TState>> distribution, int count, ulong seed, int poolSize = 1024, bool encodeObservations = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(poolSize, 1);
        _pool = new IEnvironment<TState>[poolSize];
        for (var j = 0; j < poolSize; j++)
        {
            _pool[j] = distribution.Level(PoolSeed(seed, j));
            if (_pool[j].ObservationShape != _pool[0].ObservationShape || _pool[j].ActionCount != _pool[0].ActionCount)
            {
                throw new ArgumentException($"pool level {j} has another observation shape or action count than level 0", nameof(distribution));
            }
        }
        Count = count;
        ObservationShape = _pool[0].ObservationShape;
        ActionCount = _pool[0].ActionCount;
        EncodesObservations = encodeObservations;
        _states = new TState[count];
        _level = new int[count];
        _finalStates = new TState[count];
        _finalLevel = new int[count];
        _observations = encodeObservations ? new float[count * ObservationShape.Size] : [];
        _levelStream = Seeds.Stream(seed, "batched/levels");
        for (var i = 0; i < count; i++)
        {
            Reset(i);
            _finalLevel[i] = _level[i];
            _finalStates[i] = _states[i];
        }
    }

    /// <summary>N.</summary>
    public int Count { get; }

    /// <summary>Number of actions, A.</summary>
    public int ActionCount { get; }

    /// <summary>Shape of one observation.</summary>
    public ObservationShape ObservationShape { get; }

    /// <summary>Whether <see cref="Observations"/> is maintained.</summary>
    public bool EncodesObservations { get; }

    /// <summary>[N, C, H, W] observations of the current states (empty unless encoding).</summary>
    public ReadOnlySpan<float> Observations => _observations;

    /// <summary>The pre-generated levels.</summary>
    public IReadOnlyList<IEnvironment<TState>> Pool => _pool;

    /// <summary>The seed of pool level <paramref name="poolIndex"/> for a batch seeded <paramref name="seed"/>.</summary>
    public static long PoolSeed(ulong seed, int poolIndex) => Seeds.DeriveLong(seed, "batched/pool/" + poolIndex.ToString(CultureInfo.InvariantCulture));

    /// <summary>The level environment <paramref name="env"/> plays now.</summary>
    public IEnvironment<TState> CurrentLevel(int env) => _pool[_level[env]];

    /// <summary>The current state of environment <paramref name="env"/>.</summary>
    public TState CurrentState(int env) => _states[env];

    /// <summary>The last state of the most recently finished episode of <paramref name="env"/>.</summary>
    public TState FinalState(int env) => _finalStates[env];

    /// <summary>The level of that episode.</summary>
    public IEnvironment<TState> FinalLevel(int env) => _pool[_finalLevel[env]];

    /// <summary>Writes the observation of <see cref="FinalState"/>.</summary>
    public void WriteFinalObservation(int env, Span<float> observation) => FinalLevel(env).WriteObservation(_finalStates[env], observation);

    /// <summary>Writes [N, F] named features of the current states.</summary>
    public void WriteFeatures(Span<double> features)
    {
        var f = _pool[0].Features.Count;
        if (features.Length != Count * f)
        {
            throw new ArgumentException($"expected {Count * f} features, got {features.Length}", nameof(features));
        }
        for (var i = 0; i < Count; i++)
        {
            _pool[_level[i]].WriteFeatures(_states[i], features.Slice(i * f, f));
        }
    }

    /// <summary>
    /// Each environment's pool level and state (the states' bytes), the final episode's level and
    /// state, and the reset stream (<c>level_stream</c>, four words).
    /// </summary>
    /// <exception cref="NotSupportedException"><typeparamref name="TState"/> holds references.</exception>
    public BatchedEnvironmentState SaveState()
    {
        RequireBlittable();
        return new BatchedEnvironmentState(new Dictionary<string, Array>
        {
            ["level"] = (int[])_level.Clone(),
            ["state"] = MemoryMarshal.AsBytes(_states.AsSpan()).ToArray(),
            ["final_level"] = (int[])_finalLevel.Clone(),
            ["final_state"] = MemoryMarshal.AsBytes(_finalStates.AsSpan()).ToArray(),
            ["level_stream"] = BatchedEnvironmentState.Words(_levelStream),
        });
    }

    /// <inheritdoc/>
    public void RestoreState(BatchedEnvironmentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        RequireBlittable();
        var n = Count;
        var bytes = n * Unsafe.SizeOf<TState>();
        var level = state.Get<int>("level", n);
        var states = state.Get<byte>("state", bytes);
        var finalLevel = state.Get<int>("final_level", n);
        var finalStates = state.Get<byte>("final_state", bytes);
        var stream = state.Stream("level_stream");
        BatchedEnvironmentState.RequireRange("level", level, _pool.Length);
        BatchedEnvironmentState.RequireRange("final_level", finalLevel, _pool.Length);
        level.CopyTo(_level, 0);
        finalLevel.CopyTo(_finalLevel, 0);
        states.CopyTo(MemoryMarshal.AsBytes(_states.AsSpan()));
        finalStates.CopyTo(MemoryMarshal.AsBytes(_finalStates.AsSpan()));
        _levelStream = stream;
        if (EncodesObservations)
        {
            var size = ObservationShape.Size;
            for (var i = 0; i < n; i++)
            {
                _pool[_level[i]].WriteObservation(_states[i], _observations.AsSpan(i * size, size));
            }
        }
    }

    private static void RequireBlittable()
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<TState>())
        {
            throw new NotSupportedException($"{typeof(TState).Name} holds references; its batch state cannot be saved as bytes");
        }
    }

    /// <summary>Steps every environment once; finished ones are reset. All spans have length N.</summary>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void Step(ReadOnlySpan<int> actions, Span<float> rewards, Span<bool> terminated, Span<bool> truncated)
    {
        var n = Count;
        if (actions.Length != n || rewards.Length != n || terminated.Length != n || truncated.Length != n)
        {
            throw new ArgumentException($"every span must have length {n}");
        }
        var size = ObservationShape.Size;
        for (var i = 0; i < n; i++)
        {
            var level = _level[i];
            var result = _pool[level].Step(_states[i], actions[i]);
            rewards[i] = result.Reward;
            terminated[i] = result.Terminated;
            truncated[i] = result.Truncated;
            if (result.Done)
            {
                _finalStates[i] = result.Next;
                _finalLevel[i] = level;
                Reset(i);
            }
            else
            {
                _states[i] = result.Next;
                if (EncodesObservations)
                {
                    _pool[level].WriteObservation(result.Next, _observations.AsSpan(i * size, size));
                }
            }
        }
    }

    private void Reset(int env)
    {
        var level = _pool.Length == 1 ? 0 : _levelStream.NextInt(_pool.Length);
        _level[env] = level;
        _states[env] = _pool[level].Initial;
        if (EncodesObservations)
        {
            var size = ObservationShape.Size;
            _pool[level].WriteObservation(_states[env], _observations.AsSpan(env * size, size));
        }
    }
}
