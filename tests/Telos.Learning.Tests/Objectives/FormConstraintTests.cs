using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Planning.Exact;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Objectives;

/// <summary>Synthetic regression data: rows x ~ N(0, 1)^F, y = b + w·x + noise.</summary>
internal static class Synthetic
{
    public static TransitionSample Regression(double[] w, double bias, int n, double noise, ulong seed, Func<double[], double>? target = null)
    {
        var f = w.Length;
        var rng = new Rng(seed);
        var x = new double[n * f];
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            var row = new double[f];
            for (var k = 0; k < f; k++)
            {
                row[k] = rng.NextGaussian();
            }
            row.CopyTo(x, i * f);
            y[i] = (target?.Invoke(row) ?? bias + row.Select((v, k) => v * w[k]).Sum()) + noise * rng.NextGaussian();
        }
        var schema = new FeatureSchema(Enumerable.Range(0, f).Select(k => $"f{k}"));
        return new TransitionSample(schema, x, new bool[n], x, new bool[n], x, new bool[n], y);
    }
}

public sealed class FormConstraintTests
{
    [Fact]
    public void LinearRegressionRecoversKnownWeightsWithin0_02()
    {
        double[] w = [1.5, -2.0, 0.0, 0.7, 3.0];
        var data = Synthetic.Regression(w, 0.5, n: 400, noise: 0.05, seed: 1);
        var (card, _) = ObjectiveTrainer.FitRewards(ObjectiveForm.Linear, data, "synthetic", new FormOptions(), new TrainingOptions(Steps: 600, LearningRate: 0.1, Seed: 1));
        for (var k = 0; k < w.Length; k++)
        {
            Assert.True(Math.Abs(card.Weights[k] - w[k]) < 0.02, $"w[{k}] = {card.Weights[k]}, true {w[k]} (tolerance 0.02)");
        }
        Assert.True(Math.Abs(card.Bias - 0.5) < 0.02, $"bias {card.Bias}");
        Assert.Equal("reward", card.Provenance.Signal);
        Assert.True(card.Provenance.Fit["r2"] > 0.99);
    }

    [Fact]
    public void SparseKeepsExactlyTheTrueSupportAndZeroesTheRest()
    {
        double[] w = [0.0, 2.0, 0.0, 0.0, -1.0, 0.0];
        var data = Synthetic.Regression(w, 0, n: 300, noise: 0.05, seed: 2);
        var (card, _) = ObjectiveTrainer.FitRewards(ObjectiveForm.Sparse, data, "synthetic", new FormOptions(Keep: 2, L1: 0.05), new TrainingOptions(Steps: 400, LearningRate: 0.1, Seed: 2));
        Assert.Equal(["f1", "f4"], card.SurvivingFeatures.ToArray());
        Assert.Equal(4, card.Weights.Count(x => x == 0.0));
        Assert.True(Math.Abs(card.Weight("f1") - 2.0) < 0.05 && Math.Abs(card.Weight("f4") + 1.0) < 0.05, $"survivors {card.Weight("f1")}, {card.Weight("f4")} (refit, tolerance 0.05)");
    }

    [Fact]
    public void MonotoneSignsHoldOnRandomInputsEvenWhenTheDataPullsAgainstThem()
    {
        // True weights fight the declared signs on f0 and f1; f2 is free.
        double[] w = [-2.0, 1.0, 0.5];
        var data = Synthetic.Regression(w, 0, n: 200, noise: 0.01, seed: 3);
        var signs = new Dictionary<string, int> { ["f0"] = 1, ["f1"] = -1 };
        var (card, module) = ObjectiveTrainer.FitRewards(ObjectiveForm.Monotone, data, "synthetic", new FormOptions(Signs: signs), new TrainingOptions(Steps: 300, Seed: 3));
        Assert.True(card.Weight("f0") >= 0 && card.Weight("f1") <= 0, $"weights {string.Join(", ", card.Weights)}");
        Assert.True(Math.Abs(card.Weight("f2") - 0.5) < 0.1, $"free weight {card.Weight("f2")}");
        var rng = new Rng(33);
        using var scope = NewDisposeScope();
        for (var trial = 0; trial < 200; trial++)
        {
            var x = Enumerable.Range(0, 3).Select(_ => 3 * rng.NextGaussian()).ToArray();
            var k = rng.NextInt(2);
            var up = (double[])x.Clone();
            up[k] += rng.NextDouble() * 2;
            var v = module.call(TrainableObjective.Rows(x.Concat(up).ToArray(), 3)).data<double>().ToArray();
            Assert.True(signs[$"f{k}"] * (v[1] - v[0]) >= -1e-12, $"trial {trial}: V moved against the sign of f{k}: {v[0]} → {v[1]}");
        }
    }

    [Fact]
    public void ConvexNetworkIsConvexAlongRandomSegmentsAfterFittingANonConvexTarget()
    {
        var data = Synthetic.Regression([0, 0], 0, n: 200, noise: 0, seed: 4, target: x => Math.Sin(2 * x[0]) + x[1] * x[1]);
        var (card, module) = ObjectiveTrainer.FitRewards(ObjectiveForm.Convex, data, "synthetic", new FormOptions(Hidden: [16, 16]), new TrainingOptions(Steps: 150, LearningRate: 0.02, Seed: 4));
        Assert.Equal(ObjectiveForm.Convex, card.Form);
        var rng = new Rng(44);
        using var scope = NewDisposeScope();
        for (var trial = 0; trial < 300; trial++)
        {
            double[] a = [4 * rng.NextGaussian(), 4 * rng.NextGaussian()];
            double[] b = [4 * rng.NextGaussian(), 4 * rng.NextGaussian()];
            var t = rng.NextDouble();
            double[] m = [t * a[0] + (1 - t) * b[0], t * a[1] + (1 - t) * b[1]];
            var v = module.call(TrainableObjective.Rows(a.Concat(b).Concat(m).ToArray(), 2)).data<double>().ToArray();
            Assert.True(v[2] <= t * v[0] + (1 - t) * v[1] + 1e-9, $"trial {trial}: V(mid) = {v[2]} > chord {t * v[0] + (1 - t) * v[1]}");
        }
    }

    [Fact]
    public void PotentialShapingLeavesTheGreedyPolicyUnchanged()
    {
        var level = TaskDistributions.Maze("maze/test", size: 7).Level(5);
        var sample = TransitionSample.Collect<MazeState>(_ => level, 1, 300, seed: 5, uniformStarts: true, episodeLength: 12);
        var (card, module) = ObjectiveTrainer.FitRewards(ObjectiveForm.Shaped, sample, "maze/test", new FormOptions(Gamma: 0.9), new TrainingOptions(Steps: 200, Seed: 5));
        var shaped = (ShapedObjectiveForm)module;
        // Make the potential large and arbitrary: the constraint must hold for any Φ.
        var rng = new Rng(55);
        using (no_grad())
        {
            for (var k = 0; k < Maze.FeatureNames.Count; k++)
            {
                shaped.Potential[k] = 5 * rng.NextGaussian();
            }
        }
        var mdp = TabularMdp.FromEnvironment(level);
        var baseQ = TransitionValueIteration(level, mdp, card.Gamma, (from, to, fromT, toT) => shaped.call(to));
        var shapedQ = TransitionValueIteration(level, mdp, card.Gamma, (from, to, fromT, toT) => shaped.Reward(from, fromT, to, toT));
        for (var s = 0; s < mdp.StateCount; s++)
        {
            if (level.StateAt(s).Cell == level.Cheese)
            {
                continue;
            }
            var best = Enumerable.Range(0, 4).Where(a => mdp.Next(s, a) >= 0).MaxBy(a => shapedQ[s * 4 + a]);
            var baseBest = Enumerable.Range(0, 4).Where(a => mdp.Next(s, a) >= 0).Max(a => baseQ[s * 4 + a]);
            Assert.True(baseQ[s * 4 + best] >= baseBest - 1e-6, $"state {s}: shaped greedy action {best} is not optimal under the base objective");
        }
    }

    /// <summary>Discounted VI with transition rewards R(s, s′) from the module; Q [S, 4].</summary>
    private static double[] TransitionValueIteration(Maze level, TabularMdp mdp, double gamma, Func<Tensor, Tensor, Tensor, Tensor, Tensor> reward)
    {
        var f = level.Features.Count;
        var s = mdp.StateCount;
        var from = new List<double>();
        var to = new List<double>();
        var fromT = new List<bool>();
        var toT = new List<bool>();
        var row = new double[f];
        for (var i = 0; i < s; i++)
        {
            for (var a = 0; a < 4; a++)
            {
                var j = Math.Max(0, mdp.Next(i, a));
                level.WriteFeatures(level.StateAt(i), row);
                from.AddRange(row);
                level.WriteFeatures(level.StateAt(j), row);
                to.AddRange(row);
                fromT.Add(level.StateAt(i).Cell == level.Cheese);
                toT.Add(level.StateAt(j).Cell == level.Cheese);
            }
        }
        double[] r;
        using (NewDisposeScope())
        using (no_grad())
        {
            r = TrainableObjective.ToArray(reward(TrainableObjective.Rows(from.ToArray(), f), TrainableObjective.Rows(to.ToArray(), f), TrainableObjective.Flags(fromT.ToArray()), TrainableObjective.Flags(toT.ToArray())));
        }
        var v = new double[s];
        var q = new double[s * 4];
        for (var it = 0; it < 2000; it++)
        {
            for (var i = 0; i < s; i++)
            {
                var best = double.NegativeInfinity;
                for (var a = 0; a < 4; a++)
                {
                    var j = mdp.Next(i, a);
                    q[i * 4 + a] = j < 0 ? double.NegativeInfinity : r[i * 4 + a] + (mdp.Ends(i, a) ? 0 : gamma * v[j]);
                    best = Math.Max(best, q[i * 4 + a]);
                }
                v[i] = level.StateAt(i).Cell == level.Cheese ? 0 : best;
            }
        }
        return q;
    }
}
