using System.Collections.Immutable;
using System.Globalization;
using Telos.Imaging;
using Telos.Objectives;

namespace Telos.Environments;

/// <summary>One integer parameter of a family's distributions (<c>size</c>, <c>region</c>, …).</summary>
/// <param name="Name">The parameter's name as written in configs and <c>--param NAME=VALUE</c> (snake_case).</param>
/// <param name="Description">One line for <c>--help</c> and <c>telos env list</c>.</param>
/// <param name="Default">The value when none is given; null when the default depends on other parameters (the message says which).</param>
/// <param name="Min">Smallest allowed value.</param>
/// <param name="Max">Largest allowed value.</param>
public sealed record DistributionParameter(string Name, string Description, int? Default, int Min, int Max);

/// <summary>A named task distribution of a family: <c>maze/test</c>, with what it draws.</summary>
/// <param name="Name">The distribution's name, <c>family/variant</c>.</param>
/// <param name="Family">The family's name.</param>
/// <param name="Summary">What a level looks like, in one line.</param>
public sealed record TaskDistributionInfo(string Name, string Family, string Summary);

/// <summary>
/// Values of distribution parameters by name, as given by a user (CLI flags, a config). Names a
/// family does not declare are refused by <see cref="IEnvironmentFamily{TState}.Distribution"/>.
/// </summary>
public sealed class DistributionParameters
{
    private readonly ImmutableSortedDictionary<string, int> _values;

    private DistributionParameters(ImmutableSortedDictionary<string, int> values) => _values = values;

    /// <summary>No parameters: every one takes its default.</summary>
    public static DistributionParameters None { get; } = new(ImmutableSortedDictionary<string, int>.Empty.WithComparers(StringComparer.Ordinal));

    /// <summary>The given values; null entries are left out (the default applies).</summary>
    public static DistributionParameters Of(params (string Name, int? Value)[] values)
    {
        var builder = ImmutableSortedDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            if (value is { } v)
            {
                builder[name] = v;
            }
        }
        return new DistributionParameters(builder.ToImmutable());
    }

    /// <summary>The names given.</summary>
    public IEnumerable<string> Names => _values.Keys;

    /// <summary>The value of <paramref name="name"/>, or null when it was not given.</summary>
    public int? this[string name] => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>"size=13 region=1" (sorted by name), or "" with none.</summary>
    public override string ToString() => string.Join(" ", _values.Select(kv => $"{kv.Key}={kv.Value.ToString(CultureInfo.InvariantCulture)}"));
}

/// <summary>
/// A family of environments (maze, keys &amp; chests, …) as one registration: its named
/// distributions and their parameters, the level factory, features and observations (through
/// its levels), renderers, the planner heuristic, reference objectives (the true reward and each
/// proxy) and the goal/proxy diagnostics an evaluation reports. Every CLI command and experiment
/// reaches a family through <see cref="EnvironmentFamilies"/>, never by its name.
/// </summary>
/// <remarks>Generic code reaches the typed family through <see cref="Accept{TResult}"/>.</remarks>
public interface IEnvironmentFamily
{
    /// <summary>The family's name: the part of a distribution name before the slash (<c>maze</c>).</summary>
    string Name { get; }

    /// <summary>What the family is, in one line.</summary>
    string Summary { get; }

    /// <summary>The family's named distributions.</summary>
    IReadOnlyList<TaskDistributionInfo> Distributions { get; }

    /// <summary>The parameters every distribution of the family takes.</summary>
    IReadOnlyList<DistributionParameter> Parameters { get; }

    /// <summary>The feature schema every level writes.</summary>
    FeatureSchema Features { get; }

    /// <summary>Names of the actions by index, [A].</summary>
    IReadOnlyList<string> ActionNames { get; }

    /// <summary>The reference objectives: the true reward first, then each proxy.</summary>
    IReadOnlyList<ReferenceObjective> References { get; }

    /// <summary>The family's goals: the true goal first, then the proxy, then any others an evaluation may target.</summary>
    IReadOnlyList<GoalInfo> Goals { get; }

    /// <summary>Runs <paramref name="operation"/> on this family with its state type.</summary>
    TResult Accept<TResult>(IFamilyOperation<TResult> operation);
}

/// <summary>Generic code over a family whose state type is known only at run time (the visitor of <see cref="IEnvironmentFamily"/>).</summary>
public interface IFamilyOperation<out TResult>
{
    /// <summary>The operation on a family with state <typeparamref name="TState"/>.</summary>
    TResult Run<TState>(IEnvironmentFamily<TState> family)
        where TState : struct;
}

/// <summary>Where an episode ended, judged by a family's goals.</summary>
/// <param name="Success">The final state satisfies the true goal.</param>
/// <param name="Proxy">The final state satisfies the family's proxy goal (and not the true one).</param>
/// <param name="ProxyDistinct">In this level the proxy can be told apart from the goal (the maze's cheese is not on the corner); proxy rates count only such levels.</param>
/// <param name="Ending">The name of the first goal the final state satisfies (<c>cheese</c>, <c>corner</c>), or <c>elsewhere</c>.</param>
public readonly record struct EpisodeVerdict(bool Success, bool Proxy, bool ProxyDistinct, string Ending);

/// <summary>A family's counts of one episode (<see cref="IEnvironmentFamily{TState}.EpisodeCounts"/>, in order), compared by value.</summary>
public readonly struct EpisodeCountValues : IEquatable<EpisodeCountValues>
{
    private readonly int[]? _values;

    /// <summary>Takes <paramref name="values"/> (not copied: the caller hands it over).</summary>
    public EpisodeCountValues(int[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = values;
    }

    /// <summary>No counts (a family that takes none).</summary>
    public static EpisodeCountValues None => default;

    /// <summary>How many counts.</summary>
    public int Count => _values?.Length ?? 0;

    /// <summary>Count <paramref name="index"/>.</summary>
    /// <exception cref="IndexOutOfRangeException">Outside 0..Count−1.</exception>
    public int this[int index] => (_values ?? [])[index];

    public bool Equals(EpisodeCountValues other) => (_values ?? []).AsSpan().SequenceEqual(other._values ?? []);

    public override bool Equals(object? obj) => obj is EpisodeCountValues other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var value in _values ?? [])
        {
            hash.Add(value);
        }
        return hash.ToHashCode();
    }

    public static bool operator ==(EpisodeCountValues left, EpisodeCountValues right) => left.Equals(right);

    public static bool operator !=(EpisodeCountValues left, EpisodeCountValues right) => !left.Equals(right);

    public override string ToString() => "[" + string.Join(", ", _values ?? []) + "]";
}

/// <summary>A named goal of a family: a predicate on where an episode ended.</summary>
/// <param name="Name">e.g. <c>cheese</c>, <c>corner</c>, <c>bottom-right</c>.</param>
/// <param name="Description">One line.</param>
public sealed record GoalInfo(string Name, string Description);

/// <summary>A reference objective of a family: the true reward as a state value, or a proxy.</summary>
/// <param name="Name"><c>true</c> or a proxy's name (<c>corner</c>).</param>
/// <param name="Description">One line, with its formula.</param>
/// <param name="Card">The card (manual provenance).</param>
/// <param name="IsTrue">Whether this is the family's true reward.</param>
public sealed record ReferenceObjective(string Name, string Description, ObjectiveCard Card, bool IsTrue);

/// <summary>Limits of the searches a family registration runs for evaluations.</summary>
public static class EnvironmentFamilyLimits
{
    /// <summary>The most states <see cref="IEnvironmentFamily{TState}.Reachable"/> searches (2^22); larger levels get no ceiling.</summary>
    public const int MaxSearchedStates = 1 << 22;
}

/// <summary>A family with its state type: what generic code (planning, sampling, evaluation) uses.</summary>
/// <typeparam name="TState">The family's immutable state.</typeparam>
public interface IEnvironmentFamily<TState> : IEnvironmentFamily
    where TState : struct
{
    /// <summary>The distribution called <paramref name="name"/> with <paramref name="parameters"/>.</summary>
    /// <exception cref="TelosInputException">Unknown name, a parameter the family does not take, or a value out of range.</exception>
    ITaskDistribution<IEnumerableEnvironment<TState>> Distribution(string name, DistributionParameters parameters);


    /// <summary>Reward bounds of one transition (for the environment checker).</summary>
    (float Min, float Max) RewardBounds { get; }

    /// <summary>Steps of the random walks that sample transitions for objective training (short enough that walks spread over the level).</summary>
    int WalkLength(IEnvironment<TState> level);

    /// <summary>Admissible A* heuristic between two states of a level, or null (Dijkstra).</summary>
    Func<IEnvironment<TState>, TState, TState, double>? Heuristic { get; }


    /// <summary>Whether <paramref name="final"/>, the state an episode ended in, satisfies goal <paramref name="goal"/>.</summary>
    /// <exception cref="TelosInputException">Unknown goal.</exception>
    bool Reached(IEnvironment<TState> level, in TState final, string goal);

    /// <summary>The verdict on an episode that ended in <paramref name="final"/>.</summary>
    EpisodeVerdict Judge(IEnvironment<TState> level, in TState final);

    /// <summary>
    /// Names of the counts an evaluation takes of every episode's final state, in order (keys &amp; chests:
    /// <c>chests_opened</c>, <c>keys_taken</c>, <c>keys_beyond_chests</c>); empty when the family takes none.
    /// </summary>
    IReadOnlyList<string> EpisodeCounts { get; }

    /// <summary>The values of <see cref="EpisodeCounts"/> for an episode that ended in <paramref name="final"/>, in their order.</summary>
    EpisodeCountValues Count(IEnvironment<TState> level, in TState final);

    /// <summary>
    /// Whether some episode from the level's start can end in a state that satisfies
    /// <paramref name="goal"/>: a search over the level's states that does not pass through a state
    /// the episode would have ended in (the ceiling beside every success or proxy rate). Null when
    /// the level has more than <see cref="EnvironmentFamilyLimits.MaxSearchedStates"/> states or cannot number them.
    /// </summary>
    /// <exception cref="TelosInputException">Unknown goal.</exception>
    bool? Reachable(IEnvironment<TState> level, string goal);

    /// <summary>Name → value details of a level for <c>telos env show</c> (size, start, item positions, step limit).</summary>
    IReadOnlyDictionary<string, object> Details(IEnvironment<TState> level);

    /// <summary>The level in ASCII (one line per row, '\n'), in <paramref name="state"/>.</summary>
    string Render(IEnvironment<TState> level, in TState state);

    /// <summary>The level in <paramref name="states"/>[^1] with the path through <paramref name="states"/> drawn over it (<c>S</c> start, <c>o</c> path).</summary>
    string RenderPath(IEnvironment<TState> level, IReadOnlyList<TState> states);

    /// <summary>A picture of the level in <paramref name="state"/>, <paramref name="cellPixels"/> pixels per cell.</summary>
    RgbImage Image(IEnvironment<TState> level, in TState state, int cellPixels);

    /// <summary>The level's cells, when the family's states stand on a grid (for heatmaps and cell labels); null otherwise.</summary>
    ICellGrid<TState>? Cells { get; }

    /// <summary>The batch environment form of <paramref name="distribution"/> (a family may have a faster one than the generic <see cref="BatchedEnvironment{TState}"/>).</summary>
    /// <param name="distribution">A distribution of this family.</param>
    /// <param name="count">N ≥ 1.</param>
    /// <param name="seed">Seeds the level pool and the reset stream.</param>
    /// <param name="encodeObservations">Maintain the one-hot observations.</param>
    /// <param name="vectorized">Let a fast form use SIMD where the CPU has it (false: its scalar loop, for comparison).</param>
    /// <param name="poolSize">Pre-generated levels.</param>
    IBatchedEnvironment<TState> Batch(ITaskDistribution<IEnumerableEnvironment<TState>> distribution, int count, ulong seed, bool encodeObservations,
        bool vectorized = true, int poolSize = 1024);
}

/// <summary>
/// The grid under a family's states: which state stands on a cell (the rest of it as at the
/// level's start) and which cell a state stands on. Coordinates are procgen's: x from the left,
/// y from the bottom.
/// </summary>
public interface ICellGrid<TState>
    where TState : struct
{
    /// <summary>Side lengths of the grid.</summary>
    (int Width, int Height) Size(IEnvironment<TState> level);

    /// <summary>The state on cell (x, y) with everything else as at the start; false on walls or outside.</summary>
    bool TryStateAt(IEnvironment<TState> level, int x, int y, out TState state);

    /// <summary>The cell (x, y) of a state.</summary>
    (int X, int Y) CellOf(IEnvironment<TState> level, in TState state);

    /// <summary>Marks drawn over a heatmap (the goal, the start), as (x, y, colour, fraction of the cell: 2 = half).</summary>
    IEnumerable<(int X, int Y, Rgb Colour, int Fraction)> Landmarks(IEnvironment<TState> level);
}

/// <summary>
/// The base of a family registration over a concrete level type: it checks parameters against
/// <see cref="Parameters"/>, casts levels once, and leaves each member to the family in its own terms.
/// </summary>
/// <typeparam name="TLevel">The family's level class.</typeparam>
/// <typeparam name="TState">The family's state.</typeparam>
public abstract class EnvironmentFamily<TLevel, TState> : IEnvironmentFamily<TState>
    where TLevel : class, IEnumerableEnvironment<TState>
    where TState : struct
{
    public abstract string Name { get; }

    public abstract string Summary { get; }

    public abstract IReadOnlyList<TaskDistributionInfo> Distributions { get; }

    public abstract IReadOnlyList<DistributionParameter> Parameters { get; }

    public abstract FeatureSchema Features { get; }

    public abstract IReadOnlyList<string> ActionNames { get; }

    public abstract (float Min, float Max) RewardBounds { get; }

    public virtual Func<IEnvironment<TState>, TState, TState, double>? Heuristic => null;

    public abstract IReadOnlyList<ReferenceObjective> References { get; }

    public abstract IReadOnlyList<GoalInfo> Goals { get; }

    public virtual ICellGrid<TState>? Cells => null;

    public virtual IReadOnlyList<string> EpisodeCounts => [];

    public virtual IBatchedEnvironment<TState> Batch(ITaskDistribution<IEnumerableEnvironment<TState>> distribution, int count, ulong seed, bool encodeObservations,
        bool vectorized = true, int poolSize = 1024) =>
        new BatchedEnvironment<TState>(distribution, count, seed, poolSize, encodeObservations);

    public TResult Accept<TResult>(IFamilyOperation<TResult> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return operation.Run(this);
    }

    /// <summary>The typed distribution; parameters are already checked against <see cref="Parameters"/>.</summary>
    protected abstract ITaskDistribution<TLevel> Create(string name, DistributionParameters parameters);

    public ITaskDistribution<IEnumerableEnvironment<TState>> Distribution(string name, DistributionParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!Distributions.Any(d => d.Name == name))
        {
            throw new TelosInputException($"unknown task distribution '{name}'; known {Name} distributions: {string.Join(", ", Distributions.Select(d => d.Name))}");
        }
        foreach (var given in parameters.Names)
        {
            if (!Parameters.Any(p => p.Name == given))
            {
                throw new TelosInputException($"{name} takes no parameter '{given}'; it takes {string.Join(", ", Parameters.Select(p => p.Name))}");
            }
        }
        return Create(name, parameters);
    }

    /// <summary>
    /// The value of parameter <paramref name="name"/>: as given, or its default (null when the default depends on
    /// others). Ranges are the distribution's to check, with messages in its own terms; <see cref="DistributionParameter.Min"/>
    /// and <see cref="DistributionParameter.Max"/> document them.
    /// </summary>
    protected int? Read(DistributionParameters parameters, string name)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var declared = Parameters.FirstOrDefault(p => p.Name == name) ?? throw new InvalidOperationException($"{Name} reads undeclared parameter '{name}'");
        return parameters[name] ?? declared.Default;
    }

    public int WalkLength(IEnvironment<TState> level) => WalkLength(Cast(level));

    public bool Reached(IEnvironment<TState> level, in TState final, string goal)
    {
        if (!Goals.Any(g => g.Name == goal))
        {
            throw new TelosInputException($"unknown {Name} goal '{goal}'; known: {string.Join(", ", Goals.Select(g => g.Name))}");
        }
        return Reached(Cast(level), final, goal);
    }

    public EpisodeVerdict Judge(IEnvironment<TState> level, in TState final)
    {
        var typed = Cast(level);
        var success = Reached(typed, final, Goals[0].Name);
        var proxy = !success && Goals.Count > 1 && Reached(typed, final, Goals[1].Name);
        var ending = "elsewhere";
        foreach (var goal in Goals)
        {
            if (Reached(typed, final, goal.Name))
            {
                ending = goal.Name;
                break;
            }
        }
        return new EpisodeVerdict(success, proxy, ProxyDistinct(typed), ending);
    }

    public EpisodeCountValues Count(IEnvironment<TState> level, in TState final)
    {
        if (EpisodeCounts.Count == 0)
        {
            return EpisodeCountValues.None;
        }
        var values = new int[EpisodeCounts.Count];
        Count(Cast(level), final, values);
        return new EpisodeCountValues(values);
    }

    public bool? Reachable(IEnvironment<TState> level, string goal)
    {
        var typed = Cast(level);
        if (!Goals.Any(g => g.Name == goal))
        {
            throw new TelosInputException($"unknown {Name} goal '{goal}'; known: {string.Join(", ", Goals.Select(g => g.Name))}");
        }
        int states;
        try
        {
            states = typed.StateCount;
        }
        catch (TelosInputException)
        {
            return null;
        }
        if (states > EnvironmentFamilyLimits.MaxSearchedStates)
        {
            return null;
        }
        // Breadth-first over state indices; a state reached by a terminating step counts but is not expanded.
        var seen = new bool[states];
        var queue = new Queue<TState>();
        var start = typed.Initial;
        seen[typed.IndexOf(start)] = true;
        queue.Enqueue(start);
        while (queue.TryDequeue(out var state))
        {
            if (Reached(typed, state, goal))
            {
                return true;
            }
            for (var action = 0; action < typed.ActionCount; action++)
            {
                var step = typed.Step(state, action);
                var index = typed.IndexOf(step.Next);
                if (seen[index])
                {
                    continue;
                }
                seen[index] = true;
                if (step.Terminated)
                {
                    if (Reached(typed, step.Next, goal))
                    {
                        return true;
                    }
                    continue;
                }
                queue.Enqueue(typed.StateAt(index));
            }
        }
        return false;
    }

    public IReadOnlyDictionary<string, object> Details(IEnvironment<TState> level) => Details(Cast(level));

    public string Render(IEnvironment<TState> level, in TState state) => Render(Cast(level), state);

    public string RenderPath(IEnvironment<TState> level, IReadOnlyList<TState> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        return RenderPath(Cast(level), states);
    }

    public RgbImage Image(IEnvironment<TState> level, in TState state, int cellPixels)
    {
        if (cellPixels is < 2 or > 64)
        {
            throw new TelosInputException($"cell pixels {cellPixels} is not allowed; use 2 to 64");
        }
        return Image(Cast(level), state, cellPixels);
    }

    /// <inheritdoc cref="IEnvironmentFamily{TState}.WalkLength"/>
    protected abstract int WalkLength(TLevel level);

    /// <inheritdoc cref="IEnvironmentFamily{TState}.Reached"/>
    protected abstract bool Reached(TLevel level, in TState final, string goal);

    /// <summary>Whether the proxy goal can be told apart from the true one in this level.</summary>
    protected abstract bool ProxyDistinct(TLevel level);

    /// <summary>Writes the <see cref="EpisodeCounts"/> of an episode that ended in <paramref name="final"/> into <paramref name="counts"/> (one slot per name). Families with counts override it.</summary>
    protected virtual void Count(TLevel level, in TState final, Span<int> counts)
    {
    }

    /// <inheritdoc cref="IEnvironmentFamily{TState}.Details"/>
    protected abstract IReadOnlyDictionary<string, object> Details(TLevel level);

    /// <inheritdoc cref="IEnvironmentFamily{TState}.Render"/>
    protected abstract string Render(TLevel level, in TState state);

    /// <inheritdoc cref="IEnvironmentFamily{TState}.RenderPath"/>
    protected abstract string RenderPath(TLevel level, IReadOnlyList<TState> states);

    /// <inheritdoc cref="IEnvironmentFamily{TState}.Image"/>
    protected abstract RgbImage Image(TLevel level, in TState state, int cellPixels);

    /// <summary>The level as the family's own type.</summary>
    /// <exception cref="ArgumentException">The level belongs to another family.</exception>
    protected TLevel Cast(IEnvironment<TState> level) =>
        level as TLevel ?? throw new ArgumentException($"a {level?.GetType().Name ?? "null"} level is not a {Name} level ({typeof(TLevel).Name})", nameof(level));

    /// <summary>Manhattan distance between two row-major cells of an n×n grid (an admissible A* heuristic where a move changes one coordinate by one).</summary>
    protected static double Manhattan(int from, int to, int size) => Math.Abs(from / size - to / size) + Math.Abs(from % size - to % size);

    /// <summary>The row-major cell at procgen (x, y) of an n×n grid; false outside it.</summary>
    protected static bool TryCell(int x, int y, int size, out int cell)
    {
        var inside = x >= 0 && y >= 0 && x < size && y < size;
        cell = inside ? (size - 1 - y) * size + x : -1;
        return inside;
    }

    /// <summary>"(x,y)" of a row-major cell, in procgen coordinates (for level details).</summary>
    protected static string CellText(int cell, int size)
    {
        var (x, y) = Coordinates(cell, size);
        return $"({x},{y})";
    }

    /// <summary>Procgen coordinates of a row-major cell on an n×n grid: x from the left, y from the bottom.</summary>
    protected static (int X, int Y) Coordinates(int cell, int size) => (cell % size, size - 1 - cell / size);

    /// <summary>Draws a path over a row-major ASCII picture of <paramref name="size"/> columns: <c>S</c> on the start, <paramref name="mark"/> on passed cells except the last and those <paramref name="keep"/> holds.</summary>
    protected static string OverlayPath(string picture, int size, IReadOnlyList<int> cells, Func<int, bool> keep, char mark = 'o')
    {
        ArgumentNullException.ThrowIfNull(picture);
        ArgumentNullException.ThrowIfNull(cells);
        var chars = picture.ToCharArray();
        // Each rendered row is size characters plus '\n'.
        int At(int cell) => cell / size * (size + 1) + cell % size;
        for (var i = 1; i < cells.Count - 1; i++)
        {
            if (cells[i] != cells[^1] && !keep(cells[i]))
            {
                chars[At(cells[i])] = mark;
            }
        }
        if (cells.Count > 0 && cells[0] != cells[^1])
        {
            chars[At(cells[0])] = 'S';
        }
        return new string(chars);
    }
}
