using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Telos.Randomness;

namespace Telos.Environments;

/// <summary>
/// N maze environments stepped together for RL, as struct-of-arrays (position, cheese position,
/// steps left and level of each environment in flat <c>int[]</c>s), with auto-reset and no
/// allocation per step.
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
/// [N, C, S, S] one-hot floats (walls, mouse, cheese; C = 3, or 4 with the gem last when the
/// distribution places gems) kept up to date incrementally: a move writes two floats; a reset
/// copies the new level's precomputed start observation (the gem never moves).</para>
/// </remarks>
public sealed class BatchedMaze : IBatchedEnvironment<MazeState>
{
    private readonly Maze[] _pool;
    private readonly byte[] _moves;       // [pool, cells]
    private readonly int[] _cheese;       // [pool]
    private readonly int[] _stepLimit;    // [pool]
    private readonly float[] _startObservations; // [pool, 3·cells] when encoding
    private readonly int[] _delta;        // [4]
    private readonly int[] _position;     // [N] level · cells + cell
    private readonly int[] _goal;         // [N] level · cells + cheese
    private readonly int[] _stepsLeft;    // [N]
    private readonly int[] _level;        // [N]
    private readonly int[] _finalCell;
    private readonly int[] _finalSteps;
    private readonly int[] _finalLevel;
    private readonly float[] _observations;
    private readonly int _cells;
    private readonly int _observationSize; // C·cells
    private readonly int _start;
    private Rng _levelStream;

    /// <summary>Creates <paramref name="count"/> environments, each at the start of a level drawn from the pool.</summary>
    /// <param name="distribution">Where levels come from; all its levels must have one size and one observation shape (all with a gem, or none).</param>
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
        for (var j = 0; j < poolSize; j++)
        {
            _pool[j] = distribution.Level(PoolSeed(seed, j));
        }
        Size = _pool[0].Size;
        _cells = Size * Size;
        _start = _pool[0].Start;
        _moves = new byte[poolSize * _cells + 3]; // +3: the AVX2 path gathers 4 bytes at each position
        _cheese = new int[poolSize];
        _stepLimit = new int[poolSize];
        for (var j = 0; j < poolSize; j++)
        {
            if (_pool[j].Size != Size || _pool[j].HasGem != _pool[0].HasGem)
            {
                throw new ArgumentException($"pool level {j} is {_pool[j].Size}×{_pool[j].Size} (gem: {_pool[j].HasGem}), level 0 is {Size}×{Size} (gem: {_pool[0].HasGem})", nameof(distribution));
            }
            _pool[j].MoveMasks.CopyTo(_moves.AsSpan(j * _cells, _cells));
            _cheese[j] = _pool[j].Cheese;
            _stepLimit[j] = _pool[j].StepLimit;
        }
        _delta = [-Size, 1, Size, -1];
        Count = count;
        _position = new int[count];
        _goal = new int[count];
        _stepsLeft = new int[count];
        _level = new int[count];
        _finalCell = new int[count];
        _finalSteps = new int[count];
        _finalLevel = new int[count];
        ObservationShape = _pool[0].ObservationShape;
        Features = _pool[0].Features;
        var obsSize = ObservationShape.Size;
        _observationSize = obsSize;
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

    /// <summary>
    /// Use the AVX2 eight-at-a-time path when the CPU has it (default true). Both paths give
    /// identical results; false exists for comparisons and tests.
    /// </summary>
    public bool Vectorized { get; init; } = true;

    /// <summary>Shape of one environment's observation: 3×S×S (4×S×S when the levels hold a gem).</summary>
    public ObservationShape ObservationShape { get; }

    /// <summary>The named features every level writes (<see cref="Maze.FeatureNames"/>, or <see cref="Maze.GemFeatureNames"/> with gems).</summary>
    public FeatureSchema Features { get; }

    /// <summary>Number of actions (4).</summary>
    public int ActionCount => 4;

    /// <summary>[N, C, S, S] one-hot observations of the current states (empty unless encoding).</summary>
    public ReadOnlySpan<float> Observations => _observations;

    /// <summary>The pre-generated levels.</summary>
    public IReadOnlyList<Maze> Pool => _pool;

    /// <summary>The seed (under <see cref="Distribution"/>) of pool level <paramref name="poolIndex"/> for a batch with <paramref name="seed"/>.</summary>
    public static long PoolSeed(ulong seed, int poolIndex) => Seeds.DeriveLong(seed, "batched-maze/pool/" + poolIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The level environment <paramref name="env"/> is playing now.</summary>
    public Maze CurrentLevel(int env) => _pool[_level[env]];

    IEnvironment<MazeState> IBatchedEnvironment<MazeState>.CurrentLevel(int env) => CurrentLevel(env);

    /// <summary>The pool index of the level environment <paramref name="env"/> is playing now.</summary>
    public int CurrentLevelIndex(int env) => _level[env];

    /// <summary>The current state of environment <paramref name="env"/>.</summary>
    public MazeState CurrentState(int env) => new(_position[env] - _level[env] * _cells, _stepLimit[_level[env]] - _stepsLeft[env]);

    /// <summary>The last state of environment <paramref name="env"/>'s most recently finished episode (before auto-reset).</summary>
    public MazeState FinalState(int env) => new(_finalCell[env], _finalSteps[env]);

    /// <summary>The level of environment <paramref name="env"/>'s most recently finished episode.</summary>
    public Maze FinalLevel(int env) => _pool[_finalLevel[env]];

    IEnvironment<MazeState> IBatchedEnvironment<MazeState>.FinalLevel(int env) => FinalLevel(env);

    /// <summary>Writes the C×S×S observation of <see cref="FinalState"/> (for bootstrapping through truncation).</summary>
    public void WriteFinalObservation(int env, Span<float> observation) => FinalLevel(env).WriteObservation(FinalState(env), observation);

    /// <summary>Writes [N, F] named features of the current states (see <see cref="Features"/>).</summary>
    public void WriteFeatures(Span<double> features)
    {
        var f = Features.Count;
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
    /// Each environment's cell, steps left and pool level, the final episode's cell, steps and level,
    /// and the reset stream (<c>level_stream</c>, four words).
    /// </summary>
    public BatchedEnvironmentState SaveState()
    {
        var cell = new int[Count];
        for (var i = 0; i < Count; i++)
        {
            cell[i] = _position[i] - _level[i] * _cells;
        }
        return new BatchedEnvironmentState(new Dictionary<string, Array>
        {
            ["cell"] = cell,
            ["steps_left"] = (int[])_stepsLeft.Clone(),
            ["level"] = (int[])_level.Clone(),
            ["final_cell"] = (int[])_finalCell.Clone(),
            ["final_steps"] = (int[])_finalSteps.Clone(),
            ["final_level"] = (int[])_finalLevel.Clone(),
            ["level_stream"] = BatchedEnvironmentState.Words(_levelStream),
        });
    }

    /// <inheritdoc/>
    public void RestoreState(BatchedEnvironmentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var n = Count;
        var cell = state.Get<int>("cell", n);
        var stepsLeft = state.Get<int>("steps_left", n);
        var level = state.Get<int>("level", n);
        var finalCell = state.Get<int>("final_cell", n);
        var finalSteps = state.Get<int>("final_steps", n);
        var finalLevel = state.Get<int>("final_level", n);
        var stream = state.Stream("level_stream");
        BatchedEnvironmentState.RequireRange("level", level, _pool.Length);
        BatchedEnvironmentState.RequireRange("final_level", finalLevel, _pool.Length);
        BatchedEnvironmentState.RequireRange("cell", cell, _cells);
        BatchedEnvironmentState.RequireRange("final_cell", finalCell, _cells);
        for (var i = 0; i < n; i++)
        {
            if (stepsLeft[i] < 1 || stepsLeft[i] > _stepLimit[level[i]])
            {
                throw new TelosInputException($"environment state 'steps_left'[{i}] is {stepsLeft[i]}; expected 1 to {_stepLimit[level[i]]}");
            }
        }
        for (var i = 0; i < n; i++)
        {
            _level[i] = level[i];
            _position[i] = level[i] * _cells + cell[i];
            _goal[i] = level[i] * _cells + _cheese[level[i]];
            _stepsLeft[i] = stepsLeft[i];
            _finalCell[i] = finalCell[i];
            _finalSteps[i] = finalSteps[i];
            _finalLevel[i] = finalLevel[i];
            if (EncodesObservations)
            {
                // The start observation with the mouse moved from the start to its cell.
                var size = _observationSize;
                _startObservations.AsSpan(level[i] * size, size).CopyTo(_observations.AsSpan(i * size, size));
                _observations[i * size + _cells + _start] = 0f;
                _observations[i * size + _cells + cell[i]] = 1f;
            }
        }
        _levelStream = stream;
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
        // Hot loop: each environment is a position in the flat [pool, cells] move table, the
        // absolute position of its cheese and a countdown of steps left; one gathered byte per step.
        ref var positionRef = ref MemoryMarshal.GetArrayDataReference(_position);
        ref var goalRef = ref MemoryMarshal.GetArrayDataReference(_goal);
        ref var leftRef = ref MemoryMarshal.GetArrayDataReference(_stepsLeft);
        ref var movesRef = ref MemoryMarshal.GetArrayDataReference(_moves);
        ref var deltaRef = ref MemoryMarshal.GetArrayDataReference(_delta);
        ref var actionRef = ref MemoryMarshal.GetReference(actions);
        ref var rewardRef = ref MemoryMarshal.GetReference(rewards);
        ref var terminatedRef = ref MemoryMarshal.GetReference(terminated);
        ref var truncatedRef = ref MemoryMarshal.GetReference(truncated);
        var encode = EncodesObservations;
        var i = Vectorized && Avx2.IsSupported ? StepEightAtATime(actions, rewards, terminated, truncated) : 0;
        for (; i < n; i++)
        {
            var action = Unsafe.Add(ref actionRef, i);
            if ((uint)action > 3)
            {
                ThrowBadAction(i, action);
            }
            var position = Unsafe.Add(ref positionRef, i);
            var moves = Unsafe.Add(ref movesRef, position);
            var next = position + (((moves >> action) & 1) * Unsafe.Add(ref deltaRef, action));
            var left = Unsafe.Add(ref leftRef, i) - 1;
            var atCheese = next == Unsafe.Add(ref goalRef, i);
            var atLimit = !atCheese & left <= 0;
            Unsafe.Add(ref rewardRef, i) = atCheese ? Maze.CheeseReward : 0f;
            Unsafe.Add(ref terminatedRef, i) = atCheese;
            Unsafe.Add(ref truncatedRef, i) = atLimit;
            if (atCheese | atLimit)
            {
                var level = _level[i];
                _finalCell[i] = next - level * _cells;
                _finalSteps[i] = _stepLimit[level] - left;
                _finalLevel[i] = level;
                Reset(i);
            }
            else
            {
                Unsafe.Add(ref positionRef, i) = next;
                Unsafe.Add(ref leftRef, i) = left;
                if (encode && next != position)
                {
                    Move(i, position, next);
                }
            }
        }
    }

    /// <summary>
    /// The same transition as the scalar loop for eight environments per iteration with AVX2: one
    /// gather of the move bytes, a variable shift and a permute for the move, compares for the cheese
    /// and the limit, and a 256-entry table that turns the 8-bit done masks into eight bools. Mice
    /// that moved get their two observation floats rewritten, and finished environments are reset,
    /// one by one afterwards. Returns how many environments it stepped (a
    /// multiple of 8); the scalar loop does the rest.
    /// </summary>
    private unsafe int StepEightAtATime(ReadOnlySpan<int> actions, Span<float> rewards, Span<bool> terminated, Span<bool> truncated)
    {
        var blocks = Count / 8 * 8;
        ref var positionRef = ref MemoryMarshal.GetArrayDataReference(_position);
        ref var goalRef = ref MemoryMarshal.GetArrayDataReference(_goal);
        ref var leftRef = ref MemoryMarshal.GetArrayDataReference(_stepsLeft);
        ref var actionRef = ref MemoryMarshal.GetReference(actions);
        ref var rewardRef = ref MemoryMarshal.GetReference(rewards);
        ref var terminatedRef = ref Unsafe.As<bool, byte>(ref MemoryMarshal.GetReference(terminated));
        ref var truncatedRef = ref Unsafe.As<bool, byte>(ref MemoryMarshal.GetReference(truncated));
        ref var boolsRef = ref MemoryMarshal.GetArrayDataReference(MaskToBools);
        var deltas = Vector256.Create(-Size, 1, Size, -1, -Size, 1, Size, -1);
        var three = Vector256.Create(3u);
        var one = Vector256.Create(1);
        var reward = Vector256.Create(Maze.CheeseReward);
        fixed (byte* moves = _moves)
        {
            for (var i = 0; i < blocks; i += 8)
            {
                var action = Vector256.LoadUnsafe(ref actionRef, (nuint)i);
                if (Vector256.GreaterThanAny(action.AsUInt32(), three))
                {
                    return i; // the scalar loop reports the bad action
                }
                var position = Vector256.LoadUnsafe(ref positionRef, (nuint)i);
                // Gathers 4 bytes at each position (the table is padded by 3) and keeps the first.
                var mask = Avx2.GatherVector256((int*)moves, position, 1) & Vector256.Create(0xFF);
                var canMove = Avx2.ShiftRightLogicalVariable(mask.AsUInt32(), action.AsUInt32()).AsInt32() & one;
                var next = position + (Avx2.PermuteVar8x32(deltas, action) & -canMove);
                var left = Vector256.LoadUnsafe(ref leftRef, (nuint)i) - one;
                var atCheese = Vector256.Equals(next, Vector256.LoadUnsafe(ref goalRef, (nuint)i));
                var atLimit = Vector256.AndNot(Vector256.LessThanOrEqual(left, Vector256<int>.Zero), atCheese);
                next.StoreUnsafe(ref positionRef, (nuint)i);
                left.StoreUnsafe(ref leftRef, (nuint)i);
                (reward & atCheese.AsSingle()).StoreUnsafe(ref rewardRef, (nuint)i);
                var cheeseBits = atCheese.ExtractMostSignificantBits();
                var limitBits = atLimit.ExtractMostSignificantBits();
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref terminatedRef, i), Unsafe.Add(ref boolsRef, (int)cheeseBits));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref truncatedRef, i), Unsafe.Add(ref boolsRef, (int)limitBits));
                var done = cheeseBits | limitBits;
                if (EncodesObservations)
                {
                    var moved = ~Vector256.Equals(next, position).ExtractMostSignificantBits() & ~done & 0xFF;
                    while (moved != 0)
                    {
                        var lane = BitOperations.TrailingZeroCount(moved);
                        moved &= moved - 1;
                        Move(i + lane, position.GetElement(lane), next.GetElement(lane));
                    }
                }
                while (done != 0)
                {
                    var env = i + BitOperations.TrailingZeroCount(done);
                    done &= done - 1;
                    var level = _level[env];
                    _finalCell[env] = _position[env] - level * _cells;
                    _finalSteps[env] = _stepLimit[level] - _stepsLeft[env];
                    _finalLevel[env] = level;
                    Reset(env);
                }
            }
        }
        return blocks;
    }

    // Entry m holds eight bytes, byte k = bit k of m: an 8-bit lane mask as eight bools.
    private static readonly ulong[] MaskToBools = Enumerable.Range(0, 256)
        .Select(m => Enumerable.Range(0, 8).Aggregate(0UL, (bools, k) => bools | ((ulong)((m >> k) & 1) << (8 * k))))
        .ToArray();

    private void Move(int env, int from, int to)
    {
        var levelStart = _level[env] * _cells;
        var mouse = env * _observationSize + _cells - levelStart;
        _observations[mouse + from] = 0f;
        _observations[mouse + to] = 1f;
    }

    private void Reset(int env)
    {
        var level = _pool.Length == 1 ? 0 : _levelStream.NextInt(_pool.Length);
        _level[env] = level;
        _position[env] = level * _cells + _start;
        _goal[env] = level * _cells + _cheese[level];
        _stepsLeft[env] = _stepLimit[level];
        if (EncodesObservations)
        {
            var size = _observationSize;
            _startObservations.AsSpan(level * size, size).CopyTo(_observations.AsSpan(env * size, size));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadAction(int env, int action) =>
        throw new ArgumentOutOfRangeException(nameof(action), action, $"action of environment {env} must be 0..3");
}
