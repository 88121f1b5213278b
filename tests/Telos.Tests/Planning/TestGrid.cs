using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Tests.Planning;

/// <summary>A cell of <see cref="TestGrid"/> and the steps taken.</summary>
public readonly record struct GridState(int X, int Y, int Steps);

/// <summary>
/// A tiny perfect maze (random spanning tree over W×H cells, y = 0 at the top) for planner tests,
/// independent of the envs branch. Actions: 0 up, 1 down, 2 left, 3 right. Walking into a wall is a
/// legal no-op unless <c>wallsIllegal</c>; arriving at the goal cell terminates.
/// </summary>
public sealed class TestGrid : IEnumerableEnvironment<GridState>
{
    private static readonly int[] Dx = [0, 0, -1, 1];
    private static readonly int[] Dy = [-1, 1, 0, 0];
    private readonly bool[] _open; // [cell, action]: the passage is open
    private readonly bool _wallsIllegal;

    public TestGrid(int width, int height, ulong seed, (int X, int Y) start, (int X, int Y)? goal, bool wallsIllegal = false)
    {
        Width = width;
        Height = height;
        Start = start;
        Goal = goal;
        _wallsIllegal = wallsIllegal;
        _open = new bool[width * height * 4];
        // Randomised depth-first spanning tree: every cell reachable, exactly one path between two cells.
        var rng = new Rng(seed);
        var seen = new bool[width * height];
        var stack = new Stack<int>();
        stack.Push(0);
        seen[0] = true;
        Span<int> order = stackalloc int[4];
        while (stack.Count > 0)
        {
            var cell = stack.Peek();
            int x = cell % width, y = cell / width;
            var count = 0;
            for (var a = 0; a < 4; a++)
            {
                int nx = x + Dx[a], ny = y + Dy[a];
                if (nx >= 0 && ny >= 0 && nx < width && ny < height && !seen[ny * width + nx])
                {
                    order[count++] = a;
                }
            }
            if (count == 0)
            {
                stack.Pop();
                continue;
            }
            var pick = order[rng.NextInt(count)];
            var n = (y + Dy[pick]) * width + x + Dx[pick];
            _open[cell * 4 + pick] = true;
            _open[n * 4 + (pick ^ 1)] = true;
            seen[n] = true;
            stack.Push(n);
        }
    }

    public int Width { get; }
    public int Height { get; }
    public (int X, int Y) Start { get; }
    public (int X, int Y)? Goal { get; }

    public string Name => "testgrid";
    public int ActionCount => 4;
    public GridState Initial => new(Start.X, Start.Y, 0);
    public int StepLimit => 1000;
    public int StateCount => Width * Height;
    public FeatureSchema Features { get; } = new(["at_goal", "x", "y"]);
    public ObservationShape ObservationShape => new(1, Height, Width);

    public bool IsOpen(int x, int y, int action) => _open[(y * Width + x) * 4 + action];

    public StepResult<GridState> Step(in GridState state, int action)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(action);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(action, 4);
        var (x, y) = IsOpen(state.X, state.Y, action) ? (state.X + Dx[action], state.Y + Dy[action]) : (state.X, state.Y);
        var atGoal = Goal is { } g && g.X == x && g.Y == y;
        var steps = state.Steps + 1;
        return new StepResult<GridState>(new GridState(x, y, steps), atGoal ? 10f : 0f, atGoal, !atGoal && steps >= StepLimit);
    }

    public void LegalActions(in GridState state, Span<bool> legal)
    {
        for (var a = 0; a < 4; a++)
        {
            legal[a] = !_wallsIllegal || IsOpen(state.X, state.Y, a);
        }
    }

    public void WriteFeatures(in GridState state, Span<double> features)
    {
        features[0] = Goal is { } g && g.X == state.X && g.Y == state.Y ? 1 : 0;
        features[1] = state.X;
        features[2] = state.Y;
    }

    public void WriteObservation(in GridState state, Span<float> observation)
    {
        observation.Clear();
        observation[state.Y * Width + state.X] = 1;
    }

    public int IndexOf(in GridState state) => state.Y * Width + state.X;

    public GridState StateAt(int index) => new(index % Width, index / Width, 0);

    /// <summary>Independent breadth-first distances in moves from (x, y) to every cell.</summary>
    public int[] Distances(int x, int y)
    {
        var dist = new int[Width * Height];
        Array.Fill(dist, -1);
        var queue = new Queue<(int, int)>();
        dist[y * Width + x] = 0;
        queue.Enqueue((x, y));
        while (queue.Count > 0)
        {
            var (cx, cy) = queue.Dequeue();
            for (var a = 0; a < 4; a++)
            {
                if (!IsOpen(cx, cy, a))
                {
                    continue;
                }
                int nx = cx + Dx[a], ny = cy + Dy[a];
                if (dist[ny * Width + nx] < 0)
                {
                    dist[ny * Width + nx] = dist[cy * Width + cx] + 1;
                    queue.Enqueue((nx, ny));
                }
            }
        }
        return dist;
    }
}

/// <summary>An objective given as a function of the state (batched by a loop).</summary>
public sealed class FunctionObjective<TState>(Func<TState, double> value) : IStateEvaluator<TState>
    where TState : struct
{
    public int Calls { get; private set; }

    public void Evaluate(ReadOnlySpan<TState> states, Span<double> values)
    {
        Calls++;
        for (var i = 0; i < states.Length; i++)
        {
            values[i] = value(states[i]);
        }
    }
}
