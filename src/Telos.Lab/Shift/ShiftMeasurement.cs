using Telos.Agents;
using Telos.Environments;
using Telos.Randomness;

namespace Telos.Lab.Shift;

/// <summary>An agent measured on maze/test (and, as the in-distribution control, on maze/train) through the one evaluation path.</summary>
/// <param name="Test">The maze/test evaluation, every record in level order (episodes kept when asked for).</param>
/// <param name="Train">The maze/train evaluation's summary, or null when the row has no control (retargeted agents).</param>
/// <param name="ProxyRegion">Of the maze/test levels with the cheese outside the top-right n×n region, the share where the episode ended inside it.</param>
public sealed record ShiftMeasure(EvaluationResult<MazeState> Test, EvaluationSummary? Train, Rate ProxyRegion);

/// <summary>
/// How the lab measures an agent on the maze's shifted task, shared by <c>telos demo</c> and the <c>maze-shift</c>
/// experiment: level sets drawn from the run's seed (a new seed resamples the test levels too), every agent run through
/// <see cref="AgentEvaluation"/> on the same levels with the same episode seeds, success and proxy pursuit with their
/// ceilings and Wilson intervals, the maze/train control beside maze/test, and proxy pursuit of the top-right region
/// (not only the exact corner).
/// </summary>
public static class ShiftMeasurement
{
    /// <summary>The first seed of the level set <paramref name="name"/> of a run with root <paramref name="root"/>: <c>Seeds.DeriveLong(root, SCOPE/levels/NAME) mod 10¹²</c>.</summary>
    public static long FirstLevel(ulong root, string scope, string name) => Seeds.DeriveLong(root, scope + "/levels/" + name) % 1_000_000_000_000L;

    /// <summary><paramref name="count"/> consecutive level seeds from <see cref="FirstLevel"/>.</summary>
    public static long[] Levels(ulong root, string scope, string name, int count)
    {
        var first = FirstLevel(root, scope, name);
        return [.. Enumerable.Range(0, count).Select(i => first + i)];
    }

    /// <summary>
    /// Evaluates <paramref name="agent"/> on <paramref name="testLevels"/> of maze/test and, when <paramref name="trainLevels"/> is given,
    /// on those of maze/train, judged by <paramref name="goal"/> (a maze goal: cheese, corner, bottom-right).
    /// </summary>
    /// <param name="agent">The agent (a planner through <see cref="AgentActions.Lanes{TState}"/>, or a policy's lanes).</param>
    /// <param name="trainParameters">maze/train's parameters (size, step limit, region).</param>
    /// <param name="testParameters">maze/test's parameters.</param>
    /// <param name="trainLevels">maze/train level seeds, or null for no control.</param>
    /// <param name="testLevels">maze/test level seeds.</param>
    /// <param name="seed">The evaluation seed (episode seeds derive from it and the level seed).</param>
    /// <param name="goal">What counts as success.</param>
    /// <param name="proxyRegion">Side n of the top-right region of the proxy-region rate (1: the corner alone).</param>
    /// <param name="keepEpisodes">Keep maze/test's episodes (for pictures).</param>
    public static ShiftMeasure Measure(IBatchedAgent<MazeState> agent, DistributionParameters trainParameters, DistributionParameters testParameters,
        long[]? trainLevels, long[] testLevels, ulong seed, string goal, int proxyRegion, bool keepEpisodes = false)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(testLevels);
        var family = MazeFamily.Instance;
        var test = AgentEvaluation.Evaluate(agent, family, "maze/test", testParameters, testLevels, seed, new EvaluationOptions(Goal: goal, KeepEpisodes: keepEpisodes));
        var train = trainLevels is null ? null
            : AgentEvaluation.Evaluate(agent, family, "maze/train", trainParameters, trainLevels, seed, new EvaluationOptions(Goal: goal)).Summary;
        return new ShiftMeasure(test, train, ProxyRegion(family.Typed("maze/test", testParameters), test.Records, proxyRegion));
    }

    /// <summary>Whether <paramref name="cell"/> of a <paramref name="size"/>-sided maze is in its top-right <paramref name="region"/>×<paramref name="region"/> region.</summary>
    public static bool InTopRight(int cell, int size, int region) => cell / size < region && cell % size >= size - region;

    /// <summary>
    /// Of the levels of <paramref name="records"/> whose cheese lies outside the top-right <paramref name="region"/>×<paramref name="region"/>
    /// region, the share whose episode ended inside it (cell coordinates: x from the left, y from the bottom).
    /// </summary>
    public static Rate ProxyRegion(ITaskDistribution<Maze> levels, IReadOnlyList<EpisodeRecord> records, int region)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(records);
        var count = 0;
        var of = 0;
        foreach (var record in records)
        {
            var level = levels.Level(record.LevelSeed);
            if (InTopRight(level.Cheese, level.Size, region))
            {
                continue;
            }
            of++;
            if (record.EndX is { } x && record.EndY is { } y && x >= level.Size - region && y >= level.Size - region)
            {
                count++;
            }
        }
        return new Rate(count, of);
    }
}
