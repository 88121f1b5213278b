using Telos.Environments;
using Telos.Lab.Shift;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Lab.Search;

/// <summary>How far a value head's ranking of states is from the true objective's and from the proxy's.</summary>
/// <param name="ToTrue">EPIC (Pearson distance) between the value head and the true objective's values.</param>
/// <param name="ToProxy">The same to the proxy (top-right corner) objective's values.</param>
/// <param name="States">States compared (every open cell of every level).</param>
public sealed record ValueHeadDistances(double ToTrue, double ToProxy, int States);

/// <summary>
/// What a policy's value head learned, EPIC-style: its value at every open cell of every level (each cell as at the
/// level's start) against the value the true objective (the cheese) and the proxy objective (the top-right corner)
/// give it, γ^d · <see cref="Maze.CheeseReward"/> with d the shortest-path steps to the objective's cell (0 when
/// unreachable). The distance is <see cref="ObjectiveAudits.Distance"/>, EPIC's for arrival rewards: it ignores
/// scale and offset, so only the ranking of states counts. Where the cheese is in the corner the two objectives agree.
/// </summary>
public static class ValueHeadComparison
{
    /// <summary>Compares <paramref name="policy"/>'s value head on every open cell of <paramref name="levels"/>.</summary>
    /// <exception cref="ArgumentException">No levels.</exception>
    public static ValueHeadDistances Compare(ActorCritic policy, IReadOnlyList<Maze> levels, float gamma)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Count == 0)
        {
            throw new ArgumentException("no levels to compare on", nameof(levels));
        }
        var network = new List<double>();
        var truth = new List<double>();
        var proxy = new List<double>();
        foreach (var level in levels)
        {
            var count = level.StateCount;
            var size = level.ObservationShape.Size;
            var observations = new float[count * size];
            for (var i = 0; i < count; i++)
            {
                level.WriteObservation(level.StateAt(i), observations.AsSpan(i * size, size));
            }
            using (NewDisposeScope())
            using (no_grad())
            {
                var o = policy.Observation;
                var output = policy.Unroll(tensor(observations).view(1, count, o.Channels, o.Height, o.Width), policy.InitialState(count), zeros(1, count));
                network.AddRange(output.Values[0].data<float>().ToArray().Select(v => (double)v));
            }
            truth.AddRange(TrueValues(level, gamma));
            proxy.AddRange(ProxyValues(level, gamma));
        }
        return new ValueHeadDistances(ObjectiveAudits.Distance(network, truth), ObjectiveAudits.Distance(network, proxy), network.Count);
    }

    /// <summary>The true objective's value of every state of <paramref name="level"/> (by index): γ^d · <see cref="Maze.CheeseReward"/>, d the shortest path to the cheese (0 where unreachable).</summary>
    public static double[] TrueValues(Maze level, float gamma)
    {
        ArgumentNullException.ThrowIfNull(level);
        return Values(level, level.Cheese, gamma);
    }

    /// <summary>The proxy objective's value of every state (by index): as <see cref="TrueValues"/> with the top-right corner for the cheese.</summary>
    public static double[] ProxyValues(Maze level, float gamma)
    {
        ArgumentNullException.ThrowIfNull(level);
        return Values(level, level.Size - 1, gamma);
    }

    private static double[] Values(Maze level, int cell, float gamma) =>
        [.. Distances(level, cell).Select(d => d is { } steps ? Maze.CheeseReward * Math.Pow(gamma, steps) : 0)];

    /// <summary>Shortest-path steps from every state (by index) to the state on <paramref name="cell"/>, null where it cannot be reached (or is a wall).</summary>
    private static int?[] Distances(Maze level, int cell)
    {
        var count = level.StateCount;
        var distances = new int?[count];
        var goal = Enumerable.Range(0, count).FirstOrDefault(i => level.StateAt(i).Cell == cell, -1);
        if (goal < 0)
        {
            return distances;
        }
        // The maze's moves are symmetric, so a breadth-first search from the goal gives every state's distance to it.
        var legal = new bool[level.ActionCount];
        var queue = new Queue<int>();
        distances[goal] = 0;
        queue.Enqueue(goal);
        while (queue.Count > 0)
        {
            var index = queue.Dequeue();
            var state = level.StateAt(index);
            level.LegalActions(state, legal);
            for (var a = 0; a < legal.Length; a++)
            {
                if (!legal[a])
                {
                    continue;
                }
                var next = level.IndexOf(level.Step(state, a).Next with { Steps = 0 });
                if (distances[next] is null)
                {
                    distances[next] = distances[index] + 1;
                    queue.Enqueue(next);
                }
            }
        }
        return distances;
    }
}
