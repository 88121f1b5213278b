using System.Text;

namespace Telos.Environments;

/// <summary>
/// One level of the cheese-in-the-corner maze (Langosco et al. 2022; procgen Maze): a square grid
/// of walls and open cells, the mouse starting bottom-left, the cheese on one open cell. Reaching
/// the cheese gives +10 and ends the episode; the episode is truncated after <see cref="StepLimit"/>
/// steps. Four moves (<see cref="Up"/>, <see cref="Right"/>, <see cref="Down"/>, <see cref="Left"/>);
/// a move into a wall or off the grid leaves the mouse where it is (and is reported illegal by
/// <see cref="LegalActions"/>, but still accepted by <see cref="Step"/>).
/// </summary>
/// <remarks>
/// <para>Coordinates: cell index <c>row · Size + column</c>, row 0 at the top. The features
/// <c>x</c> (column from the left) and <c>y</c> (row from the bottom) follow procgen's convention,
/// so the start is (0, 0) and the top-right corner is (Size−1, Size−1).</para>
/// <para>State index (<see cref="IEnumerableEnvironment{TState}"/>): the open cells numbered in
/// row-major order; the step count is not part of the index, so exact planners treat the level as
/// time-free with the step limit as the horizon. The cheese cell is the only terminal state.</para>
/// <para>Path distances to the cheese and to the corner are breadth-first distance fields computed
/// once per level, so every feature is O(1) per state.</para>
/// <para><b>The gem.</b> A level may hold a gem (<see cref="Gem"/>): a second item on an open cell that is
/// neither the start nor the cheese, for retargeting to an object no agent trained with. It changes no
/// dynamics (no reward, not terminal); a gem level adds the feature <c>at_gem</c> after the eight of
/// <see cref="FeatureNames"/> (<see cref="GemFeatureNames"/>) and a fourth observation channel
/// (<see cref="GemChannel"/>). A level without a gem has exactly the eight features and three channels
/// of the maze without gems, so objectives and policies trained on such levels are unchanged.</para>
/// </remarks>
public sealed class Maze : IEnumerableEnvironment<MazeState>
{
    /// <summary>Move one row up (towards row 0).</summary>
    public const int Up = 0;

    /// <summary>Move one column right.</summary>
    public const int Right = 1;

    /// <summary>Move one row down.</summary>
    public const int Down = 2;

    /// <summary>Move one column left.</summary>
    public const int Left = 3;

    /// <summary>Reward for reaching the cheese.</summary>
    public const float CheeseReward = 10f;

    /// <summary>Observation channel of walls.</summary>
    public const int WallChannel = 0;

    /// <summary>Observation channel of the mouse.</summary>
    public const int MouseChannel = 1;

    /// <summary>Observation channel of the cheese.</summary>
    public const int CheeseChannel = 2;

    /// <summary>Observation channel of the gem, present only on levels with a gem (<see cref="HasGem"/>).</summary>
    public const int GemChannel = 3;

    /// <summary>The feature a gem level adds after <see cref="FeatureNames"/>: 1 on the gem.</summary>
    public const string AtGem = "at_gem";

    /// <summary>The named features, in column order.</summary>
    public static readonly FeatureSchema FeatureNames = new(
    [
        "at_cheese", "path_dist_to_cheese", "path_dist_to_corner", "euclid_dist_to_cheese",
        "euclid_dist_to_corner", "at_corner", "x", "y",
    ]);

    /// <summary>The named features of a level with a gem: <see cref="FeatureNames"/>, then <see cref="AtGem"/>.</summary>
    public static readonly FeatureSchema GemFeatureNames = new([.. FeatureNames.Names, AtGem]);

    private readonly bool[] _open;
    private readonly byte[] _moves;
    private readonly int[] _distToCheese;
    private readonly int[] _distToCorner;
    private readonly int[] _stateOfCell;
    private readonly int[] _cellOfState;

    /// <summary>Builds a level from its layout.</summary>
    /// <param name="size">Side length N (any value ≥ 2 here; distributions restrict it to odd 3..25).</param>
    /// <param name="open">N² row-major flags, true for open cells. Copied.</param>
    /// <param name="cheese">Cell index of the cheese: open, not the start.</param>
    /// <param name="stepLimit">Step limit; default 4 · N².</param>
    /// <param name="gem">Cell index of the gem (open, neither the start nor the cheese; it need not be reachable), or −1 for none.</param>
    /// <exception cref="ArgumentException">The layout is inconsistent (wrong length, closed start or cheese, cheese on start, unreachable cheese, a gem off the open cells or on the start or cheese).</exception>
    public Maze(int size, ReadOnlySpan<bool> open, int cheese, int? stepLimit = null, int gem = -1)
    {
        if (size < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "a maze needs at least 2×2 cells");
        }
        if (open.Length != size * size)
        {
            throw new ArgumentException($"expected {size * size} cells, got {open.Length}", nameof(open));
        }
        Size = size;
        _open = open.ToArray();
        Start = (size - 1) * size;
        Corner = size - 1;
        Cheese = cheese;
        StepLimit = stepLimit ?? 4 * size * size;
        if (StepLimit <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stepLimit), stepLimit, "must be positive");
        }
        if (!_open[Start])
        {
            throw new ArgumentException("the start (bottom-left) cell is a wall", nameof(open));
        }
        if ((uint)cheese >= (uint)_open.Length || !_open[cheese] || cheese == Start)
        {
            throw new ArgumentException($"the cheese cell {cheese} must be open and not the start", nameof(cheese));
        }
        if (gem != -1 && ((uint)gem >= (uint)_open.Length || !_open[gem] || gem == Start || gem == cheese))
        {
            throw new ArgumentException($"the gem cell {gem} must be open and neither the start nor the cheese", nameof(gem));
        }
        Gem = gem;

        _moves = new byte[_open.Length];
        for (var cell = 0; cell < _open.Length; cell++)
        {
            if (!_open[cell])
            {
                continue;
            }
            for (var a = 0; a < 4; a++)
            {
                var next = Neighbour(cell, a);
                if (next >= 0 && _open[next])
                {
                    _moves[cell] |= (byte)(1 << a);
                }
            }
        }
        _stateOfCell = new int[_open.Length];
        var states = 0;
        for (var cell = 0; cell < _open.Length; cell++)
        {
            _stateOfCell[cell] = _open[cell] ? states++ : -1;
        }
        _cellOfState = new int[states];
        for (var cell = 0; cell < _open.Length; cell++)
        {
            if (_open[cell])
            {
                _cellOfState[_stateOfCell[cell]] = cell;
            }
        }
        _distToCheese = DistanceField(cheese);
        _distToCorner = DistanceField(_open[Corner] ? Corner : -1);
        if (_distToCheese[Start] < 0)
        {
            throw new ArgumentException("the cheese cannot be reached from the start", nameof(cheese));
        }
    }

    /// <summary>Side length N.</summary>
    public int Size { get; }

    /// <summary>Start cell: bottom-left, <c>(N−1)·N</c>.</summary>
    public int Start { get; }

    /// <summary>Top-right corner cell, <c>N−1</c>: where the cheese always is in <c>maze/train</c> with region 1.</summary>
    public int Corner { get; }

    /// <summary>Cell of the cheese.</summary>
    public int Cheese { get; }

    /// <summary>Cell of the gem, or −1 when the level has none.</summary>
    public int Gem { get; }

    /// <summary>Whether the level has a gem (then it writes <see cref="GemFeatureNames"/> and four observation channels).</summary>
    public bool HasGem => Gem >= 0;

    /// <summary>The distribution and seed this level came from, when it came from one (for reports).</summary>
    public string? Provenance { get; init; }

    public string Name => "maze";

    public int ActionCount => 4;

    public MazeState Initial => new(Start, 0);

    public int StepLimit { get; }

    /// <summary><see cref="FeatureNames"/>, or <see cref="GemFeatureNames"/> on a level with a gem.</summary>
    public FeatureSchema Features => HasGem ? GemFeatureNames : FeatureNames;

    /// <summary>Three channels (walls, mouse, cheese) over N×N; four (and the gem) on a level with a gem.</summary>
    public ObservationShape ObservationShape => new(HasGem ? 4 : 3, Size, Size);

    /// <summary>Number of open cells.</summary>
    public int StateCount => _cellOfState.Length;

    /// <summary>Whether <paramref name="cell"/> is open.</summary>
    public bool IsOpen(int cell) => _open[cell];

    /// <summary>Row-major open flags, N².</summary>
    public ReadOnlySpan<bool> OpenCells => _open;

    /// <summary>
    /// Bit <c>a</c> of entry <c>cell</c> is set when action <c>a</c> moves the mouse out of
    /// <c>cell</c> (N² bytes, zero on walls). The batch form steps with this table.
    /// </summary>
    public ReadOnlySpan<byte> MoveMasks => _moves;

    /// <summary>Breadth-first path distance from each cell to the cheese (N², −1 on walls).</summary>
    public ReadOnlySpan<int> DistancesToCheese => _distToCheese;

    /// <summary>Breadth-first path distance from each cell to the top-right corner (N², −1 on walls or if the corner is a wall).</summary>
    public ReadOnlySpan<int> DistancesToCorner => _distToCorner;

    /// <summary>Path distance from <paramref name="cell"/> to the cheese.</summary>
    public int PathDistanceToCheese(int cell) => _distToCheese[cell];

    /// <summary>Path distance from <paramref name="cell"/> to the top-right corner.</summary>
    public int PathDistanceToCorner(int cell) => _distToCorner[cell];

    /// <summary>The cell one move from <paramref name="cell"/>, or −1 off the grid (walls are not checked).</summary>
    public int Neighbour(int cell, int action)
    {
        var row = cell / Size;
        var column = cell - row * Size;
        return action switch
        {
            Up => row > 0 ? cell - Size : -1,
            Right => column < Size - 1 ? cell + 1 : -1,
            Down => row < Size - 1 ? cell + Size : -1,
            Left => column > 0 ? cell - 1 : -1,
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, "actions are 0..3"),
        };
    }

    /// <summary>Pure step. The cheese cell is absorbing: stepping from it returns it unchanged, reward 0, terminated.</summary>
    public StepResult<MazeState> Step(in MazeState state, int action)
    {
        if ((uint)action >= 4)
        {
            throw new ArgumentOutOfRangeException(nameof(action), action, "actions are 0..3");
        }
        if (state.Cell == Cheese)
        {
            return new StepResult<MazeState>(state, 0f, true, false);
        }
        var next = ((_moves[state.Cell] >> action) & 1) != 0 ? state.Cell + Delta(action) : state.Cell;
        var steps = state.Steps + 1;
        var atCheese = next == Cheese;
        return new StepResult<MazeState>(new MazeState(next, steps), atCheese ? CheeseReward : 0f, atCheese, !atCheese && steps >= StepLimit);
    }

    /// <summary>Legal = the move changes the cell. On the (terminal) cheese cell every action is legal and absorbing.</summary>
    public void LegalActions(in MazeState state, Span<bool> legal)
    {
        var mask = state.Cell == Cheese ? 0xF : _moves[state.Cell];
        for (var a = 0; a < 4; a++)
        {
            legal[a] = ((mask >> a) & 1) != 0;
        }
    }

    /// <summary>
    /// Writes, in order: at_cheese (0/1), path_dist_to_cheese, path_dist_to_corner (moves),
    /// euclid_dist_to_cheese, euclid_dist_to_corner (cells), at_corner (0/1), x (column from the
    /// left), y (row from the bottom); on a level with a gem, then at_gem (0/1).
    /// </summary>
    public void WriteFeatures(in MazeState state, Span<double> features)
    {
        var cell = state.Cell;
        var row = cell / Size;
        var column = cell - row * Size;
        var cheeseRow = Cheese / Size;
        var cheeseColumn = Cheese - cheeseRow * Size;
        features[0] = cell == Cheese ? 1 : 0;
        features[1] = _distToCheese[cell];
        features[2] = _distToCorner[cell];
        features[3] = Math.Sqrt(Square(row - cheeseRow) + Square(column - cheeseColumn));
        features[4] = Math.Sqrt(Square(row) + Square(column - (Size - 1)));
        features[5] = cell == Corner ? 1 : 0;
        features[6] = column;
        features[7] = Size - 1 - row;
        if (HasGem)
        {
            features[8] = cell == Gem ? 1 : 0;
        }
    }

    /// <summary>Writes 3·N·N floats: walls, mouse, cheese, each N×N row-major; on a level with a gem, 4·N·N with the gem last. Clears first.</summary>
    public void WriteObservation(in MazeState state, Span<float> observation)
    {
        var plane = Size * Size;
        observation[..(ObservationShape.Channels * plane)].Clear();
        for (var cell = 0; cell < plane; cell++)
        {
            if (!_open[cell])
            {
                observation[WallChannel * plane + cell] = 1f;
            }
        }
        observation[MouseChannel * plane + state.Cell] = 1f;
        observation[CheeseChannel * plane + Cheese] = 1f;
        if (HasGem)
        {
            observation[GemChannel * plane + Gem] = 1f;
        }
    }

    /// <summary>
    /// The same level (walls, cheese, step limit, provenance) without its gem: what an agent that never saw a gem reads — three
    /// observation channels and the eight features of <see cref="FeatureNames"/>. A level without a gem is returned as it is.
    /// </summary>
    public Maze WithoutGem() => HasGem ? new Maze(Size, _open, Cheese, StepLimit) { Provenance = Provenance } : this;

    public int IndexOf(in MazeState state)
    {
        var index = (uint)state.Cell < (uint)_stateOfCell.Length ? _stateOfCell[state.Cell] : -1;
        if (index < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state.Cell, "the mouse is not on an open cell");
        }
        return index;
    }

    public MazeState StateAt(int index) => new(_cellOfState[index], 0);

    /// <summary>
    /// ASCII picture, one line per row: <c>#</c> wall, <c>.</c> open, <c>M</c> mouse,
    /// <c>C</c> cheese, <c>*</c> mouse on the cheese, <c>G</c> gem, <c>g</c> mouse on the gem. Lines end with '\n'.
    /// </summary>
    public string Render(in MazeState state)
    {
        var text = new StringBuilder((Size + 1) * Size);
        for (var row = 0; row < Size; row++)
        {
            for (var column = 0; column < Size; column++)
            {
                var cell = row * Size + column;
                text.Append(cell == state.Cell ? (cell == Cheese ? '*' : cell == Gem ? 'g' : 'M') : cell == Cheese ? 'C' : cell == Gem ? 'G' : _open[cell] ? '.' : '#');
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// Reads a level from the ASCII form of <see cref="Render"/> (<c>#</c>, <c>.</c>, <c>M</c> optional, <c>C</c>, <c>G</c> optional);
    /// the mouse always starts bottom-left. Rows are separated by newlines; blank lines are skipped.
    /// </summary>
    /// <exception cref="ArgumentException">The picture is not square, has no cheese or an unknown character.</exception>
    public static Maze Parse(string picture, int? stepLimit = null)
    {
        var rows = picture.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var size = rows.Length;
        var open = new bool[size * size];
        var cheese = -1;
        var gem = -1;
        for (var row = 0; row < size; row++)
        {
            if (rows[row].Length != size)
            {
                throw new ArgumentException($"row {row} has {rows[row].Length} characters; the maze is {size}×{size}", nameof(picture));
            }
            for (var column = 0; column < size; column++)
            {
                var ch = rows[row][column];
                var cell = row * size + column;
                open[cell] = ch switch
                {
                    '#' => false,
                    '.' or 'M' => true,
                    'C' or '*' or 'G' or 'g' => true,
                    _ => throw new ArgumentException($"unknown character '{ch}' at row {row}, column {column}", nameof(picture)),
                };
                if (ch is 'C' or '*')
                {
                    cheese = cell;
                }
                if (ch is 'G' or 'g')
                {
                    gem = cell;
                }
            }
        }
        if (cheese < 0)
        {
            throw new ArgumentException("the picture has no cheese 'C'", nameof(picture));
        }
        return new Maze(size, open, cheese, stepLimit, gem);
    }

    private int Delta(int action) => action switch
    {
        Up => -Size,
        Right => 1,
        Down => Size,
        _ => -1,
    };

    private static int Square(int v) => v * v;

    private int[] DistanceField(int source)
    {
        var distance = new int[_open.Length];
        Array.Fill(distance, -1);
        if (source < 0)
        {
            return distance;
        }
        var queue = new int[_open.Length];
        int head = 0, tail = 0;
        distance[source] = 0;
        queue[tail++] = source;
        while (head < tail)
        {
            var cell = queue[head++];
            for (var a = 0; a < 4; a++)
            {
                if (((_moves[cell] >> a) & 1) == 0)
                {
                    continue;
                }
                var next = cell + Delta(a);
                if (distance[next] < 0)
                {
                    distance[next] = distance[cell] + 1;
                    queue[tail++] = next;
                }
            }
        }
        return distance;
    }
}
