using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Telos.Randomness;

namespace Telos.Environments;

/// <summary>
/// N maze environments stepped together for RL, as struct-of-arrays (cell, step count and level of
/// each environment in flat <c>int[]</c>s), with auto-reset and no allocation per step.
/// </summary>
/// <remarks>
/// <para><b>Level pool.</b> Levels are generated once, at construction: a pool of
/// <c>poolSize</c> levels with seeds <see cref="PoolSeed"/> from the distribution. When an
/// episode ends the environment restarts at the start of a pool level drawn uniformly from a seeded
/// stream, so stepping never generates or allocates. With a pool much larger than the number of
/// episodes the agent sees, this is sampling from the distribution; with a small pool it is
/// training on a fixed level set (procgen's <c>num_levels</c>).</para>
/// <para><b>Auto-reset.</b> <see cref="Step"/> reports the transition's reward, termination
/// (cheese reached) and truncation (step limit) and leaves the environment already reset; the
/// last state before the reset stays available through <see cref="FinalState"/>,
/// <see cref="FinalLevel"/> and <see cref="WriteFinalObservation"/> until that environment's
/// next episode ends.</para>
/// <para><b>Observations.</b> With <c>encodeObservations</c>, <see cref="Observations"/> holds
/// [N, 3, S, S] one-hot floats (walls, mouse, cheese) kept up to date incrementally: a move
/// writes two floats; a reset copies the new level's precomputed start observation.</para>
/// </remarks>
public sealed class BatchedMaze
{
    private readonly Maze[] _pool;
    private readonly long[] _poolSeeds;
    private readonly byte[] _moves;       // [pool, cells]
    private readonly int[] _cheese;       // [pool]
    private readonly int[] _stepLimit;    // [pool]
    private readonly float[] _startObservations; // [pool, 3·cells] when encoding
    private readonly int[] _delta;        // [4]
    private readonly int[] _cell;
    private readonly int[] _steps;
    private readonly int[] _level;
    private readonly int[] _finalCell;
    private readonly int[] _finalSteps;
    private readonly int[] _finalLevel;
    private readonly float[] _observations;
    private readonly int _cells;
    private readonly int _start;
    private Rng _levelStream;

    /// <summary>Creates <paramref name="count"/> environments, each at the start of a level drawn from the pool.</summary>
    /// <param name="distribution">Where levels come from; all its levels must have one size.</param>
    /// <param name="count">Number of environments N ≥ 1.</param>
    /// <param name="seed">Seeds the pool's level seeds and the stream that picks levels at reset.</param>
    /// <param name="poolSize">Number of pre-generated levels (≥ 1).</param>
    /// <param name="encodeObservations">Keep <see cref="Observations"/> up to date.</param>
    public BatchedMaze(ITaskDistribution<Maze> distribution, int count, ulong seed, int poolSize = 1024, bool encodeObservations = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(poolSize, 1);
        Distribution = distribution;
        Seed = seed;
        _pool = new Maze[poolSize];
        _poolSeeds = new long[poolSize];
        for (var j = 0; j < poolSize; j++)
        {
            _poolSeeds[j] = PoolSeed(seed, j);
            _pool[j] = distribution.Level(_poolSeeds[j]);
        }
        Size = _pool[0].Size;
        _cells = Size * Size;
        _start = _pool[0].Start;
        _moves = new byte[poolSize * _cells];
        _cheese = new int[poolSize];
        _stepLimit = new int[poolSize];
        for (var j = 0; j < poolSize; j++)
        {
            if (_pool[j].Size != Size)
            {
                throw new ArgumentException($"pool level {j} is {_pool[j].Size}×{_pool[j].Size}, level 0 is {Size}×{Size}", nameof(distribution));
            }
            _pool[j].MoveMasks.CopyTo(_moves.AsSpan(j * _cells, _cells));
            _cheese[j] = _pool[j].Cheese;
            _stepLimit[j] = _pool[j].StepLimit;
        }
        _delta = [-Size, 1, Size, -1];
        Count = count;
        _cell = new int[count];
        _steps = new int[count];
        _level = new int[count];
        _finalCell = new int[count];
        _finalSteps = new int[count];
        _finalLevel = new int[count];
        ObservationShape = new ObservationShape(3, Size, Size);
        var obsSize = ObservationShape.Size;
        if (encodeObservations)
        {
            _startObservations = new float[poolSize * obsSize];
            for (var j = 0; j < poolSize; j++)
            {
                _pool[j].WriteObservation(_pool[j].Initial, _startObservations.AsSpan(j * obsSize, obsSize));
            }
            _observations = new float[count * obsSize];
        }
        else
        {
            _startObservations = [];
            _observations = [];
        }
        EncodesObservations = encodeObservations;
        _levelStream = Seeds.Stream(seed, "batched-maze/levels");
        for (var i = 0; i < count; i++)
        {
            Reset(i);
            _finalLevel[i] = _level[i];
            _finalCell[i] = _start;
        }
    }

    /// <summary>Number of environments N.</summary>
    public int Count { get; }

    /// <summary>Side length S of every level.</summary>
    public int Size { get; }

    /// <summary>The distribution the pool was drawn from.</summary>
    public ITaskDistribution<Maze> Distribution { get; }

    /// <summary>The seed given at construction.</summary>
    public ulong Seed { get; }

    /// <summary>Whether <see cref="Observations"/> is maintained.</summary>
    public bool EncodesObservations { get; }

    /// <summary>Shape of one environment's observation: 3×S×S.</summary>
    public ObservationShape ObservationShape { get; }

    /// <summary>Number of actions (4).</summary>
    public int ActionCount => 4;

    /// <summary>[N, 3, S, S] one-hot observations of the current states (empty unless encoding).</summary>
    public ReadOnlySpan<float> Observations => _observations;

    /// <summary>The pre-generated levels.</summary>
    public IReadOnlyList<Maze> Pool => _pool;

    /// <summary>The seed (under <see cref="Distribution"/>) of pool level <paramref name="poolIndex"/> for a batch with <paramref name="seed"/>.</summary>
    public static long PoolSeed(ulong seed, int poolIndex) => Seeds.DeriveLong(seed, "batched-maze/pool/" + poolIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The level environment <paramref name="env"/> is playing now.</summary>
    public Maze CurrentLevel(int env) => _pool[_level[env]];

    /// <summary>The pool index of the level environment <paramref name="env"/> is playing now.</summary>
    public int CurrentLevelIndex(int env) => _level[env];

    /// <summary>The current state of environment <paramref name="env"/>.</summary>
    public MazeState CurrentState(int env) => new(_cell[env], _steps[env]);

    /// <summary>The last state of environment <paramref name="env"/>'s most recently finished episode (before auto-reset).</summary>
    public MazeState FinalState(int env) => new(_finalCell[env], _finalSteps[env]);

    /// <summary>The level of environment <paramref name="env"/>'s most recently finished episode.</summary>
    public Maze FinalLevel(int env) => _pool[_finalLevel[env]];

    /// <summary>Writes the 3×S×S observation of <see cref="FinalState"/> (for bootstrapping through truncation).</summary>
    public void WriteFinalObservation(int env, Span<float> observation) => FinalLevel(env).WriteObservation(FinalState(env), observation);

    /// <summary>Writes [N, F] named features of the current states (see <see cref="Maze.FeatureNames"/>).</summary>
    public void WriteFeatures(Span<double> features)
    {
        var f = Maze.FeatureNames.Count;
        if (features.Length != Count * f)
        {
            throw new ArgumentException($"expected {Count * f} features, got {features.Length}", nameof(features));
        }
        for (var i = 0; i < Count; i++)
        {
            _pool[_level[i]].WriteFeatures(CurrentState(i), features.Slice(i * f, f));
        }
    }

    /// <summary>
    /// Steps every environment once. All spans have length N. Environments whose episode ended are
    /// reset to a new level before this returns.
    /// </summary>
    /// <param name="actions">[N] actions in 0..3.</param>
    /// <param name="rewards">[N] rewards of the transitions (10 on reaching the cheese, else 0).</param>
    /// <param name="terminated">[N] true where the cheese was reached.</param>
    /// <param name="truncated">[N] true where the step limit cut the episode (never together with terminated).</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An action is outside 0..3 (environments before it have stepped).</exception>
    public void Step(ReadOnlySpan<int> actions, Span<float> rewards, Span<bool> terminated, Span<bool> truncated)
    {
        var n = Count;
        if (actions.Length != n || rewards.Length != n || terminated.Length != n || truncated.Length != n)
        {
            throw new ArgumentException($"every span must have length {n}");
        }
        ref var cellRef = ref MemoryMarshal.GetArrayDataReference(_cell);
        ref var stepsRef = ref MemoryMarshal.GetArrayDataReference(_steps);
        ref var levelRef = ref MemoryMarshal.GetArrayDataReference(_level);
        ref var movesRef = ref MemoryMarshal.GetArrayDataReference(_moves);
        ref var cheeseRef = ref MemoryMarshal.GetArrayDataReference(_cheese);
        ref var limitRef = ref MemoryMarshal.GetArrayDataReference(_stepLimit);
        ref var deltaRef = ref MemoryMarshal.GetArrayDataReference(_delta);
        ref var actionRef = ref MemoryMarshal.GetReference(actions);
        ref var rewardRef = ref MemoryMarshal.GetReference(rewards);
        ref var terminatedRef = ref MemoryMarshal.GetReference(terminated);
        ref var truncatedRef = ref MemoryMarshal.GetReference(truncated);
        var cells = _cells;
        var encode = EncodesObservations;
        for (var i = 0; i < n; i++)
        {
            var action = Unsafe.Add(ref actionRef, i);
            if ((uint)action > 3)
            {
                ThrowBadAction(i, action);
            }
            var level = Unsafe.Add(ref levelRef, i);
            var cell = Unsafe.Add(ref cellRef, i);
            var moves = Unsafe.Add(ref movesRef, level * cells + cell);
            var next = cell + (((moves >> action) & 1) * Unsafe.Add(ref deltaRef, action));
            var steps = Unsafe.Add(ref stepsRef, i) + 1;
            var atCheese = next == Unsafe.Add(ref cheeseRef, level);
            var atLimit = !atCheese & steps >= Unsafe.Add(ref limitRef, level);
            Unsafe.Add(ref rewardRef, i) = atCheese ? Maze.CheeseReward : 0f;
            Unsafe.Add(ref terminatedRef, i) = atCheese;
            Unsafe.Add(ref truncatedRef, i) = atLimit;
            if (atCheese | atLimit)
            {
                _finalCell[i] = next;
                _finalSteps[i] = steps;
                _finalLevel[i] = level;
                Reset(i);
            }
            else
            {
                Unsafe.Add(ref cellRef, i) = next;
                Unsafe.Add(ref stepsRef, i) = steps;
                if (encode && next != cell)
                {
                    var mouse = i * 3 * cells + cells;
                    _observations[mouse + cell] = 0f;
                    _observations[mouse + next] = 1f;
                }
            }
        }
    }

    private void Reset(int env)
    {
        var level = _pool.Length == 1 ? 0 : _levelStream.NextInt(_pool.Length);
        _level[env] = level;
        _cell[env] = _start;
        _steps[env] = 0;
        if (EncodesObservations)
        {
            var size = 3 * _cells;
            _startObservations.AsSpan(level * size, size).CopyTo(_observations.AsSpan(env * size, size));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadAction(int env, int action) =>
        throw new ArgumentOutOfRangeException(nameof(action), action, $"action of environment {env} must be 0..3");
}
