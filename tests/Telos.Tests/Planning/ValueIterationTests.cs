using Telos.Planning.Exact;

namespace Telos.Tests.Planning;

public sealed class ValueIterationTests
{
    private static int[] GreedyPath(TestGrid grid, TabularMdp mdp, TabularSolution solution, int maxSteps)
    {
        var path = new List<int>();
        var s = grid.IndexOf(grid.Initial);
        path.Add(s);
        for (var t = 0; t < maxSteps; t++)
        {
            var a = solution.GreedyAction(s);
            var ends = mdp.Ends(s, a);
            s = mdp.Next(s, a);
            path.Add(s);
            if (ends)
            {
                break;
            }
        }
        return path.ToArray();
    }

    [Theory]
    [InlineData(1UL, 5, 5)]
    [InlineData(2UL, 9, 7)]
    [InlineData(3UL, 13, 13)]
    [InlineData(4UL, 25, 25)]
    public void Greedy_policy_reaches_the_terminal_goal_by_a_shortest_path(ulong seed, int w, int h)
    {
        var rng = new Telos.Randomness.Rng(seed * 7919);
        var goal = (rng.NextInt(w), rng.NextInt(h));
        var grid = new TestGrid(w, h, seed, (0, h - 1), goal);
        var mdp = TabularMdp.FromEnvironment(grid);
        var reward = TabularMdp.EvaluateStates(grid, new FunctionObjective<GridState>(s => s.X == goal.Item1 && s.Y == goal.Item2 ? 1 : 0));
        var solution = ValueIteration.Solve(mdp, reward, 0.99);
        Assert.True(solution.Converged);

        var distance = grid.Distances(0, h - 1)[grid.IndexOf(new GridState(goal.Item1, goal.Item2, 0))];
        var path = GreedyPath(grid, mdp, solution, 10 * w * h);
        Assert.Equal(grid.IndexOf(new GridState(goal.Item1, goal.Item2, 0)), path[^1]);
        Assert.Equal(distance, path.Length - 1);
    }

    [Theory]
    [InlineData(11UL, 8, 8)]
    [InlineData(12UL, 15, 11)]
    public void Greedy_policy_climbs_a_non_terminal_maximum_by_a_shortest_path_and_stays(ulong seed, int w, int h)
    {
        // Objective: minus the maze distance to a target cell; maximum at the target, which does not end the episode.
        var rng = new Telos.Randomness.Rng(seed);
        var target = (X: rng.NextInt(w), Y: rng.NextInt(h));
        var grid = new TestGrid(w, h, seed, (0, h - 1), goal: null);
        var toTarget = grid.Distances(target.X, target.Y);
        var mdp = TabularMdp.FromEnvironment(grid);
        var reward = TabularMdp.EvaluateStates(grid, new FunctionObjective<GridState>(s => -toTarget[grid.IndexOf(s)]));
        var solution = ValueIteration.Solve(mdp, reward, 0.95);
        var path = GreedyPath(grid, mdp, solution, toTarget[grid.IndexOf(grid.Initial)] + 5);
        var targetIndex = target.Y * w + target.X;
        var first = Array.IndexOf(path, targetIndex);
        Assert.Equal(toTarget[grid.IndexOf(grid.Initial)], first);
        Assert.All(path[first..], s => Assert.Equal(targetIndex, s));
    }

    [Fact]
    public void Values_match_a_hand_computed_chain()
    {
        // Chain 0 → 1 → 2 (terminal on arrival at 2); action 0 moves right, action 1 stays.
        var next = new[] { 1, 0, 2, 1, 2, 2 };
        var ends = new[] { false, false, true, false, false, false };
        var mdp = new TabularMdp(3, 2, next, ends);
        double[] r = [0, 0, 1];
        var solution = ValueIteration.Solve(mdp, r, 0.5);
        Assert.Equal(1.0, solution.Values[1], 12);   // step into 2: reward 1, then nothing
        Assert.Equal(0.5, solution.Values[0], 12);   // 0 + 0.5 · 1
        Assert.Equal(2.0, solution.Values[2], 10);   // stays at 2 forever: 1 / (1 − 0.5)
        Assert.Equal(0, solution.GreedyAction(0));
        Assert.Equal(0.25, solution.Q[1], 12);       // Q(0, stay) = 0 + 0.5 · V(0)
    }

    [Fact]
    public void Horizon_limited_values_count_exactly_H_steps()
    {
        var next = new[] { 1, 0, 2, 1, 2, 2 };
        var ends = new bool[6];
        var mdp = new TabularMdp(3, 2, next, ends);
        double[] r = [0, 0, 1];
        var solution = ValueIteration.Solve(mdp, r, 1.0, horizon: 4);
        Assert.Equal(3.0, solution.Values[0], 12); // 0 → 1 → 2 → 2 → 2: rewards 0, 1, 1, 1
        Assert.Equal(4, solution.Iterations);
        Assert.Equal(4, solution.Horizon);
        Assert.NotNull(solution.PolicySchedule);
    }

    [Fact]
    public void Illegal_actions_are_never_chosen_and_get_minus_infinity()
    {
        var grid = new TestGrid(6, 6, 5, (0, 5), (5, 0), wallsIllegal: true);
        var mdp = TabularMdp.FromEnvironment(grid);
        var reward = TabularMdp.EvaluateStates(grid, new FunctionObjective<GridState>(s => s.X == 5 && s.Y == 0 ? 1 : 0));
        var hard = ValueIteration.Solve(mdp, reward, 0.9);
        var soft = ValueIteration.SolveSoft(mdp, reward, 0.9, temperature: 0.5);
        for (var s = 0; s < mdp.StateCount; s++)
        {
            for (var a = 0; a < 4; a++)
            {
                if (mdp.Next(s, a) < 0)
                {
                    Assert.True(double.IsNegativeInfinity(hard.Q[s * 4 + a]));
                    Assert.Equal(0.0, hard.Policy[s * 4 + a]);
                    Assert.Equal(0.0, soft.Policy[s * 4 + a]);
                }
            }
        }
    }

    [Fact]
    public void Soft_values_bound_hard_values_and_approach_them_as_temperature_falls()
    {
        var grid = new TestGrid(7, 7, 9, (0, 6), (6, 0));
        var mdp = TabularMdp.FromEnvironment(grid);
        var reward = TabularMdp.EvaluateStates(grid, new FunctionObjective<GridState>(s => s.X == 6 && s.Y == 0 ? 1 : -0.01));
        var hard = ValueIteration.Solve(mdp, reward, 0.9);
        var soft = ValueIteration.SolveSoft(mdp, reward, 0.9, temperature: 1.0);
        var cold = ValueIteration.SolveSoft(mdp, reward, 0.9, temperature: 1e-4);
        for (var s = 0; s < mdp.StateCount; s++)
        {
            Assert.True(soft.Values[s] >= hard.Values[s] - 1e-9);
            Assert.InRange(cold.Values[s] - hard.Values[s], -1e-9, 1e-2);
            var sum = 0.0;
            foreach (var p in soft.PolicyAt(s))
            {
                sum += p;
            }
            Assert.Equal(1.0, sum, 12);
        }
        // A cold soft policy puts nearly all mass on the greedy action (a perfect maze has one shortest path).
        var start = grid.IndexOf(grid.Initial);
        Assert.True(cold.PolicyAt(start)[hard.GreedyAction(start)] > 0.99);
    }

    [Fact]
    public void Soft_backup_matches_log_sum_exp_by_hand()
    {
        // One state, two self-loop actions... state 0: action 0 → 1 (terminal), action 1 → 2 (terminal).
        var mdp = new TabularMdp(3, 2, [1, 2, 1, 1, 2, 2], [true, true, true, true, true, true]);
        double[] r = [0, 1, 2];
        var soft = ValueIteration.SolveSoft(mdp, r, 0.9, temperature: 2.0);
        Assert.Equal(2.0 * Math.Log(Math.Exp(0.5) + Math.Exp(1.0)), soft.Values[0], 12);
        Assert.Equal(Math.Exp(0.5) / (Math.Exp(0.5) + Math.Exp(1.0)), soft.Policy[0], 12);
    }

    [Fact]
    public void Visitation_weighted_by_reward_is_the_policy_return()
    {
        var grid = new TestGrid(6, 5, 21, (0, 4), (5, 0));
        var mdp = TabularMdp.FromEnvironment(grid);
        var reward = TabularMdp.EvaluateStates(grid, new FunctionObjective<GridState>(s => s.X == 5 && s.Y == 0 ? 1 : -0.1 * s.Y));
        var start = new double[mdp.StateCount];
        start[grid.IndexOf(grid.Initial)] = 1;

        // Hard, horizon-limited, γ = 1: Σ D·r equals V(start) exactly.
        var hard = ValueIteration.Solve(mdp, reward, 1.0, horizon: 12);
        var visits = StateVisitation.Expected(mdp, hard, start, 12);
        Assert.Equal(hard.Values[grid.IndexOf(grid.Initial)], Dot(visits, reward), 9);

        // Soft, discounted: Σ D·r equals the soft policy's return, computed by iterating policy evaluation.
        var soft = ValueIteration.SolveSoft(mdp, reward, 0.8, temperature: 0.3);
        var visitsSoft = StateVisitation.Expected(mdp, soft, start, 200);
        var v = new double[mdp.StateCount];
        for (var iteration = 0; iteration < 200; iteration++)
        {
            var fresh = new double[v.Length];
            for (var s = 0; s < v.Length; s++)
            {
                for (var a = 0; a < 4; a++)
                {
                    var j = mdp.Next(s, a);
                    fresh[s] += soft.Policy[s * 4 + a] * (reward[j] + (mdp.Ends(s, a) ? 0 : 0.8 * v[j]));
                }
            }
            v = fresh;
        }
        Assert.Equal(v[grid.IndexOf(grid.Initial)], Dot(visitsSoft, reward), 9);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var mdp = new TabularMdp(3, 2, [1, 0, 2, 1, 2, 2], new bool[6]);
        Assert.Throws<ArgumentException>(() => ValueIteration.Solve(mdp, new double[2], 0.9));
        Assert.Throws<ArgumentOutOfRangeException>(() => ValueIteration.Solve(mdp, new double[3], 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ValueIteration.SolveSoft(mdp, new double[3], 0.9, temperature: 0));
        Assert.Throws<ArgumentException>(() => new TabularMdp(2, 2, [0, 5, 1, 1], new bool[4]));
    }

    private static double Dot(double[] x, double[] y)
    {
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }
        return sum;
    }
}
