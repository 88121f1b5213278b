using System.Numerics;
using System.Text;

namespace Telos.Environments;

/// <summary>
/// One level of Keys &amp; Chests (Langosco et al. 2022, after procgen Heist): an open square room
/// with keys and chests on distinct cells. Stepping on a key picks it up; stepping on a closed chest
/// while holding a key opens it (+1) and spends the key. The episode terminates when no chest can
/// still be opened (all open, or no key held and none left on the floor) and is truncated at
/// <see cref="StepLimit"/>. Four moves as in <see cref="Maze"/>; moving off the room is a no-op.
/// </summary>
/// <remarks>
/// <para>State index (<see cref="IEnumerableEnvironment{TState}"/>):
/// <c>cell + cells · (keysTaken + 2^K · chestsOpened)</c> over every combination of masks, so
/// S = cells · 2^K · 2^C; some indices (more chests opened than keys taken) are unreachable. Step
/// counts are not part of the index.</para>
/// <para>Distances are Manhattan distances, which equal path distances in an open room.</para>
/// </remarks>
public sealed class KeysAndChests : IEnumerableEnvironment<KeysAndChestsState>
{
    /// <summary>Most keys or chests a level may hold (the masks are 16 bits).</summary>
    public const int MaxItems = 16;

    /// <summary>Reward for opening a chest.</summary>
    public const float ChestReward = 1f;

    /// <summary>Observation channel of the agent.</summary>
    public const int AgentChannel = 0;

    /// <summary>Observation channel of keys still on the floor.</summary>
    public const int KeyChannel = 1;

    /// <summary>Observation channel of closed chests.</summary>
    public const int ChestChannel = 2;

    /// <summary>Observation channel of keys held: the first <c>keys_held</c> cells in row-major order are 1.</summary>
    public const int HeldChannel = 3;

    /// <summary>The named features, in column order.</summary>
    public static readonly FeatureSchema FeatureNames = new(
    [
        "keys_held", "chests_opened", "dist_to_nearest_key", "dist_to_nearest_chest",
        "keys_remaining", "chests_remaining", "x", "y",
    ]);

    private readonly int[] _keys;
    private readonly int[] _chests;
    private readonly sbyte[] _keyAt;
    private readonly sbyte[] _chestAt;

    /// <summary>Builds a level.</summary>
    /// <param name="size">Side length N ≥ 2.</param>
    /// <param name="start">The agent's start cell.</param>
    /// <param name="keys">Cells of the keys (1..16, distinct, not the start or a chest).</param>
    /// <param name="chests">Cells of the chests (1..16, distinct).</param>
    /// <param name="stepLimit">Step limit; default 4 · N².</param>
    /// <exception cref="ArgumentException">Cells overlap, fall outside the room, or counts are out of range.</exception>
    public KeysAndChests(int size, int start, ReadOnlySpan<int> keys, ReadOnlySpan<int> chests, int? stepLimit = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 2);
        if (keys.Length is < 1 or > MaxItems || chests.Length is < 1 or > MaxItems)
        {
            throw new ArgumentException($"a level holds 1 to {MaxItems} keys and 1 to {MaxItems} chests; got {keys.Length} and {chests.Length}");
        }
        Size = size;
        Start = start;
        StepLimit = stepLimit ?? 4 * size * size;
        ArgumentOutOfRangeException.ThrowIfLessThan(StepLimit, 1, nameof(stepLimit));
        _keys = keys.ToArray();
        _chests = chests.ToArray();
        _keyAt = new sbyte[size * size];
        _chestAt = new sbyte[size * size];
        Array.Fill(_keyAt, (sbyte)-1);
        Array.Fill(_chestAt, (sbyte)-1);
        var used = new bool[size * size];
        Claim(used, start, "start");
        for (var k = 0; k < _keys.Length; k++)
        {
            Claim(used, _keys[k], $"key {k}");
            _keyAt[_keys[k]] = (sbyte)k;
        }
        for (var c = 0; c < _chests.Length; c++)
        {
            Claim(used, _chests[c], $"chest {c}");
            _chestAt[_chests[c]] = (sbyte)c;
        }
    }

    /// <summary>Side length N.</summary>
    public int Size { get; }

    /// <summary>The agent's start cell.</summary>
    public int Start { get; }

    /// <summary>Cells of the keys, K of them.</summary>
    public ReadOnlySpan<int> Keys => _keys;

    /// <summary>Cells of the chests, C of them.</summary>
    public ReadOnlySpan<int> Chests => _chests;

    /// <summary>The distribution and seed this level came from, when it came from one.</summary>
    public string? Provenance { get; init; }

    public string Name => "kc";

    public int ActionCount => 4;

    public KeysAndChestsState Initial => new(Start, 0, 0, 0);

    public int StepLimit { get; }

    public FeatureSchema Features => FeatureNames;

    /// <summary>Four channels (agent, keys, closed chests, keys held) over N×N.</summary>
    public ObservationShape ObservationShape => new(4, Size, Size);

    /// <summary>cells · 2^K · 2^C.</summary>
    /// <exception cref="TelosInputException">The level has too many items to number its states in an <see cref="int"/> (exact planners and IRL need a smaller room or fewer items).</exception>
    public int StateCount
    {
        get
        {
            var count = (long)Size * Size << (_keys.Length + _chests.Length);
            return count <= int.MaxValue
                ? (int)count
                : throw new TelosInputException($"{_keys.Length} keys and {_chests.Length} chests in a {Size}×{Size} room give {count} states, too many to enumerate; use a tree-search planner (mcts, gumbel, uct) or a smaller room or max_minority");
        }
    }

    /// <summary>Whether no chest can be opened any more: all are open, or no key is held and none is left.</summary>
    public bool IsTerminal(in KeysAndChestsState state)
    {
        var allChests = (1 << _chests.Length) - 1;
        var allKeys = (1 << _keys.Length) - 1;
        return state.ChestsOpened == allChests || (state.KeysHeld <= 0 && state.KeysTaken == allKeys);
    }

    /// <summary>Pure step. Terminal states are absorbing (same state, reward 0, terminated).</summary>
    public StepResult<KeysAndChestsState> Step(in KeysAndChestsState state, int action)
    {
        if ((uint)action >= 4)
        {
            throw new ArgumentOutOfRangeException(nameof(action), action, "actions are 0..3");
        }
        if (IsTerminal(state))
        {
            return new StepResult<KeysAndChestsState>(state, 0f, true, false);
        }
        var next = Neighbour(state.Cell, action);
        if (next < 0)
        {
            next = state.Cell;
        }
        var taken = state.KeysTaken;
        var opened = state.ChestsOpened;
        var reward = 0f;
        var key = _keyAt[next];
        if (key >= 0)
        {
            taken |= (ushort)(1 << key);
        }
        var chest = _chestAt[next];
        if (chest >= 0 && (opened & (1 << chest)) == 0 && state.KeysHeld > 0)
        {
            opened |= (ushort)(1 << chest);
            reward = ChestReward;
        }
        var result = new KeysAndChestsState(next, state.Steps + 1, taken, opened);
        var terminated = IsTerminal(result);
        return new StepResult<KeysAndChestsState>(result, reward, terminated, !terminated && result.Steps >= StepLimit);
    }

    /// <summary>Legal = the move stays in the room. In terminal states every action is legal and absorbing.</summary>
    public void LegalActions(in KeysAndChestsState state, Span<bool> legal)
    {
        var terminal = IsTerminal(state);
        for (var a = 0; a < 4; a++)
        {
            legal[a] = terminal || Neighbour(state.Cell, a) >= 0;
        }
    }

    /// <summary>
    /// Writes, in order: keys_held, chests_opened, dist_to_nearest_key (Manhattan distance to the
    /// nearest key still on the floor; 0 when none is left), dist_to_nearest_chest (to the nearest
    /// closed chest; 0 when none is left), keys_remaining (on the floor), chests_remaining (closed),
    /// x (column from the left), y (row from the bottom).
    /// </summary>
    public void WriteFeatures(in KeysAndChestsState state, Span<double> features)
    {
        var row = state.Cell / Size;
        var column = state.Cell - row * Size;
        features[0] = state.KeysHeld;
        features[1] = state.ChestsOpenedCount;
        features[2] = Nearest(_keys, state.KeysTaken, row, column);
        features[3] = Nearest(_chests, state.ChestsOpened, row, column);
        features[4] = _keys.Length - BitOperations.PopCount(state.KeysTaken);
        features[5] = _chests.Length - state.ChestsOpenedCount;
        features[6] = column;
        features[7] = Size - 1 - row;
    }

    /// <summary>Writes 4·N·N floats (agent, keys on the floor, closed chests, keys held). Clears first.</summary>
    public void WriteObservation(in KeysAndChestsState state, Span<float> observation)
    {
        var plane = Size * Size;
        observation[..(4 * plane)].Clear();
        observation[AgentChannel * plane + state.Cell] = 1f;
        for (var k = 0; k < _keys.Length; k++)
        {
            if ((state.KeysTaken & (1 << k)) == 0)
            {
                observation[KeyChannel * plane + _keys[k]] = 1f;
            }
        }
        for (var c = 0; c < _chests.Length; c++)
        {
            if ((state.ChestsOpened & (1 << c)) == 0)
            {
                observation[ChestChannel * plane + _chests[c]] = 1f;
            }
        }
        var held = Math.Clamp(state.KeysHeld, 0, plane);
        observation.Slice(HeldChannel * plane, held).Fill(1f);
    }

    public int IndexOf(in KeysAndChestsState state)
    {
        if ((uint)state.Cell >= (uint)(Size * Size) || state.KeysTaken >> _keys.Length != 0 || state.ChestsOpened >> _chests.Length != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "not a state of this level");
        }
        var index = state.Cell + (long)Size * Size * (state.KeysTaken + ((long)state.ChestsOpened << _keys.Length));
        return index <= int.MaxValue ? (int)index : throw new TelosInputException($"state index {index} does not fit an int: this level has too many items to enumerate; use a tree-search planner (mcts, gumbel, uct) or a smaller room or max_minority");
    }

    public KeysAndChestsState StateAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, StateCount);
        var cells = Size * Size;
        var masks = index / cells;
        return new KeysAndChestsState(index % cells, 0, (ushort)(masks & ((1 << _keys.Length) - 1)), (ushort)(masks >> _keys.Length));
    }

    /// <summary>
    /// ASCII picture: <c>.</c> floor, <c>A</c> agent, <c>k</c> key, <c>c</c> closed chest,
    /// <c>o</c> opened chest, then a line <c>keys held: n</c>. Lines end with '\n'.
    /// </summary>
    public string Render(in KeysAndChestsState state)
    {
        var text = new StringBuilder((Size + 1) * Size + 16);
        for (var row = 0; row < Size; row++)
        {
            for (var column = 0; column < Size; column++)
            {
                var cell = row * Size + column;
                var key = _keyAt[cell];
                var chest = _chestAt[cell];
                text.Append(
                    cell == state.Cell ? 'A'
                    : key >= 0 ? ((state.KeysTaken & (1 << key)) == 0 ? 'k' : '.')
                    : chest >= 0 ? ((state.ChestsOpened & (1 << chest)) == 0 ? 'c' : 'o')
                    : '.');
            }
            text.Append('\n');
        }
        text.Append("keys held: ").Append(state.KeysHeld).Append('\n');
        return text.ToString();
    }

    /// <summary>The cell one move from <paramref name="cell"/>, or −1 off the room.</summary>
    public int Neighbour(int cell, int action)
    {
        var row = cell / Size;
        var column = cell - row * Size;
        return action switch
        {
            Maze.Up => row > 0 ? cell - Size : -1,
            Maze.Right => column < Size - 1 ? cell + 1 : -1,
            Maze.Down => row < Size - 1 ? cell + Size : -1,
            Maze.Left => column > 0 ? cell - 1 : -1,
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, "actions are 0..3"),
        };
    }

    private int Nearest(int[] cells, ushort done, int row, int column)
    {
        var best = int.MaxValue;
        for (var i = 0; i < cells.Length; i++)
        {
            if ((done & (1 << i)) != 0)
            {
                continue;
            }
            var r = cells[i] / Size;
            var c = cells[i] - r * Size;
            best = Math.Min(best, Math.Abs(r - row) + Math.Abs(c - column));
        }
        return best == int.MaxValue ? 0 : best;
    }

    private void Claim(bool[] used, int cell, string what)
    {
        if ((uint)cell >= (uint)used.Length)
        {
            throw new ArgumentException($"{what} at cell {cell} is outside the {Size}×{Size} room");
        }
        if (used[cell])
        {
            throw new ArgumentException($"{what} at cell {cell} overlaps another item");
        }
        used[cell] = true;
    }
}
