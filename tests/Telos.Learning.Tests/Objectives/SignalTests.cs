using System.Collections.Immutable;
using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Planning.Exact;

namespace Telos.Learning.Tests.Objectives;

public sealed class SignalTests
{
    private static readonly ImmutableArray<string> IrlFeatures = ["at_cheese", "path_dist_to_cheese", "at_corner", "x", "y"];

    /// <remarks>
    /// Demonstrations come from the Boltzmann-rational (soft-optimal, τ = 1) policy of the true
    /// reward: the demonstrator MaxEnt IRL models. With deterministic shortest-path demonstrations
    /// on the same features the fit matches the feature counts but the direction is not identified
    /// (cosine 0.53 measured; see docs/objectives.md).
    /// </remarks>
    [Fact]
    public void MaxEntIrlRecoversTheTrueMazeRewardUpToScaleFromSoftOptimalDemosWithCosineAtLeast0_95()
    {
        double[] truth = [1.0, -0.2, 0.0, 0.0, 0.0];
        var distribution = TaskDistributions.Maze("maze/test", size: 7);
        var levels = Enumerable.Range(0, 4).Select(s => distribution.Level(s)).ToArray();
        var demos = new List<Demonstration>();
        var rng = new Telos.Randomness.Rng(1);
        for (var l = 0; l < levels.Length; l++)
        {
            var mdp = TabularMdp.FromEnvironment(levels[l]);
            var reward = MaxEntIrl.FeatureMatrix(levels[l], IrlFeatures).Chunk(IrlFeatures.Length).Select(row => row.Select((v, k) => v * truth[k]).Sum()).ToArray();
            var solution = ValueIteration.SolveSoft(mdp, reward, 0.95, temperature: 1.0, horizon: 40);
            for (var s = 0; s < mdp.StateCount; s++)
            {
                for (var k = 0; k < 10 && levels[l].StateAt(s).Cell != levels[l].Cheese; k++)
                {
                    demos.Add(MaxEntIrl.SoftDemonstration(mdp, solution, l, s, ref rng));
                }
            }
        }
        var (card, _) = MaxEntIrl.Fit<MazeState>(levels, demos, IrlFeatures, new MaxEntIrlOptions(Discount: 0.95, Temperature: 1.0, Horizon: 40, Iterations: 200, LearningRate: 0.1));
        var w = card.Weights.ToArray();
        var cosine = w.Zip(truth, (a, b) => a * b).Sum() / Math.Sqrt(w.Sum(a => a * a) * truth.Sum(b => b * b));
        Assert.True(cosine >= 0.95, $"cosine {cosine:F4} < 0.95; learned [{string.Join(", ", w.Select(x => x.ToString("F3")))}]");
        Assert.Equal("demos", card.Provenance.Signal);
    }

    /// <remarks>
    /// The issue's test proper: deterministic optimal demonstrations (exact finite-horizon Q*, ties broken
    /// by a seeded RNG) from every open cell of 8 maze/test levels. The true reward trades the cheese
    /// (+1, ends the episode) against the corner (+0.3 on every arrival, so worth circling): whether a
    /// start heads for the cheese or the corner depends on the ratio, and 8 layouts with the cheese in
    /// different places pin it down. A reward whose optimal paths are only shortest paths to the
    /// cheese (e.g. at_cheese alone) is not identified from optimal demonstrations: random directions
    /// with cosine −0.92 reproduce them (docs/objectives.md).
    /// </remarks>
    [Fact]
    public void MaxEntIrlRecoversTheTrueMazeRewardUpToScaleFromOptimalDemosWithCosineAtLeast0_95()
    {
        double[] truth = [1.0, 0.0, 0.3, 0.0, 0.0];
        const double gamma = 0.95;
        const int horizon = 40;
        var distribution = TaskDistributions.Maze("maze/test", size: 7);
        var levels = Enumerable.Range(0, 8).Select(s => distribution.Level(s)).ToArray();
        var demos = new List<Demonstration>();
        var rng = new Telos.Randomness.Rng(1);
        var cornerVisits = 0;
        for (var l = 0; l < levels.Length; l++)
        {
            var mdp = TabularMdp.FromEnvironment(levels[l]);
            var phi = MaxEntIrl.FeatureMatrix(levels[l], IrlFeatures);
            var reward = phi.Chunk(IrlFeatures.Length).Select(row => row.Select((v, k) => v * truth[k]).Sum()).ToArray();
            var q = MaxEntIrl.OptimalActionValues(mdp, reward, gamma, horizon);
            for (var s = 0; s < mdp.StateCount; s++)
            {
                if (levels[l].StateAt(s).Cell == levels[l].Cheese)
                {
                    continue;
                }
                var demo = MaxEntIrl.OptimalDemonstration(mdp, q, l, s, ref rng);
                cornerVisits += demo.States.Skip(1).Count(i => levels[l].StateAt(i).Cell == levels[l].Corner);
                demos.Add(demo);
            }
        }
        // Both goals must be in play, or the ratio would not be revealed.
        Assert.Contains(demos, d => levels[d.Level].StateAt(d.States[^1]).Cell == levels[d.Level].Cheese);
        Assert.True(cornerVisits > 0, "no demonstration visits the corner");

        var (card, _) = MaxEntIrl.Fit<MazeState>(levels, demos, IrlFeatures, new MaxEntIrlOptions(Discount: gamma, Temperature: 1.0, Horizon: horizon, Iterations: 300, LearningRate: 0.2));
        var w = card.Weights.ToArray();
        var cosine = w.Zip(truth, (a, b) => a * b).Sum() / Math.Sqrt(w.Sum(a => a * a) * truth.Sum(b => b * b));
        Assert.True(cosine >= 0.95, $"cosine {cosine:F4} < 0.95 between learned and true weights over [{string.Join(", ", IrlFeatures)}]; learned [{string.Join(", ", w.Select(x => x.ToString("F3")))}]");
    }

    [Fact]
    public void OptimalDemonstrationsEarnTheOptimalValueAndBreakTiesBySeed()
    {
        var level = Maze.Parse("""
            ...C
            ....
            ....
            M...
            """);
        var mdp = TabularMdp.FromEnvironment(level);
        var reward = MaxEntIrl.FeatureMatrix(level, ["at_cheese"]);
        const double gamma = 0.9;
        const int horizon = 12;
        var q = MaxEntIrl.OptimalActionValues(mdp, reward, gamma, horizon);
        var start = level.IndexOf(level.Initial);
        var best = Enumerable.Range(0, mdp.ActionCount).Max(a => q[((horizon - 1) * mdp.StateCount + start) * mdp.ActionCount + a]);
        var paths = new HashSet<string>();
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var rng = new Telos.Randomness.Rng(seed);
            var demo = MaxEntIrl.OptimalDemonstration(mdp, q, 0, start, ref rng);
            var earned = demo.States.Skip(1).Select((s, t) => Math.Pow(gamma, t) * reward[s]).Sum();
            Assert.Equal(best, earned, 12);
            paths.Add(string.Join(",", demo.States));
        }
        // Bottom-left to top-right of an open 4×4 grid: 20 shortest paths; seeded tie-breaking must visit several.
        Assert.True(paths.Count >= 3, $"only {paths.Count} distinct optimal paths from 20 seeds");
    }

    [Fact]
    public void BradleyTerryRecoversTheReferenceRankingWithKendallTauAtLeast0_9()
    {
        var distribution = TaskDistributions.Maze("maze/test", size: 7);
        Func<long, IEnvironment<MazeState>> levelOf = s => distribution.Level(s);
        var reference = ObjectiveCard.Linear([new("at_cheese", 3.0), new("path_dist_to_cheese", -0.3), new("x", 0.1)]).CompileTransition();
        const int length = 4;
        var train = TransitionSample.Collect(levelOf, levels: 8, stepsPerLevel: 160, seed: 6, uniformStarts: true, episodeLength: 12);
        var pairs = PreferencePairs.Synthetic(train, length, pairs: 600, reference, temperature: 0.0, seed: 6);
        var (card, _) = ObjectiveTrainer.FitPreferences(ObjectiveForm.Linear, pairs, "maze/test", new FormOptions(), new TrainingOptions(Steps: 300, LearningRate: 0.05, Seed: 6));

        var test = TransitionSample.Collect(levelOf, levels: 4, stepsPerLevel: 160, seed: 60, firstSeed: 100, uniformStarts: true, episodeLength: 12);
        var truth = PreferencePairs.SegmentReturns(test, length, reference);
        var learned = PreferencePairs.SegmentReturns(test, length, card.CompileTransition());
        var tau = KendallTau(truth, learned);
        Assert.True(tau >= 0.9, $"Kendall τ {tau:F3} < 0.9 over {truth.Length} held-out segments; card {string.Join(", ", card.Weights.Select(x => x.ToString("F2")))}");
    }

    [Fact]
    public void GoalRegressionMovesLabelledStatesWhileTheAnchorHoldsTheRestAndFrozenWeightsStay()
    {
        var start = ObjectiveCard.Linear([new("at_cheese", 5.0), new("at_corner", 5.0), new("x", 0.0)]).Freeze("at_cheese");
        var loaded = new LoadedObjective(start, null, "test card");
        // The programmer says: the corner alone is worth nothing.
        double[] labelled = [0, 1, 6];
        double[] labels = [0.0];
        double[] anchor = [1, 0, 3, 0, 0, 2, 0, 0, 4];
        var card = ObjectiveTrainer.RegressTowardGoal(loaded, labelled, labels, anchor, anchorWeight: 1.0, new TrainingOptions(Steps: 800, LearningRate: 0.1, Seed: 7));
        var values = new double[1];
        card.Compile().Evaluate(labelled, values);
        Assert.True(Math.Abs(values[0]) < 0.1, $"labelled state value {values[0]} (want 0 ± 0.1)");
        Assert.Equal(5.0, card.Weight("at_cheese"));
        var anchorValues = new double[3];
        card.Compile().Evaluate(anchor, anchorValues);
        Assert.True(Math.Abs(anchorValues[0] - 5.0) < 0.3 && Math.Abs(anchorValues[1]) < 0.3 && Math.Abs(anchorValues[2]) < 0.3, $"anchor drifted: {string.Join(", ", anchorValues)} (tolerance 0.3)");
        Assert.Equal("goal", card.Provenance.Signal);
        Assert.Equal(start.Revision + 1, card.Revision);
    }

    [Fact]
    public void TdLambdaValuesDecreaseWithPathDistanceToTheCheese()
    {
        var distribution = TaskDistributions.Maze("maze/test", size: 7);
        var data = TransitionSample.Collect<MazeState>(s => distribution.Level(s), levels: 6, stepsPerLevel: 300, seed: 8, uniformStarts: true, episodeLength: 30);
        var (card, _) = ObjectiveTrainer.FitTdLambda(ObjectiveForm.Linear, data, "maze/test", gamma: 0.9, lambda: 0.8, rounds: 5, new FormOptions(), new TrainingOptions(Steps: 200, Seed: 8));
        Assert.True(card.Weight("path_dist_to_cheese") < 0, $"TD(λ) weight of path_dist_to_cheese is {card.Weight("path_dist_to_cheese")}; values should fall with distance");
        Assert.Equal("td", card.Provenance.Signal);
    }

    [Fact]
    public void RewardRegressionOnMazeTrainIsDeterministicInItsSeed()
    {
        var distribution = TaskDistributions.Maze("maze/train", size: 7);
        TransitionSample Data() => TransitionSample.Collect<MazeState>(s => distribution.Level(s), levels: 5, stepsPerLevel: 100, seed: 9, uniformStarts: true, episodeLength: 10);
        var a = ObjectiveTrainer.FitRewards(ObjectiveForm.Linear, Data(), "maze/train", new FormOptions(), new TrainingOptions(Steps: 100, Seed: 9)).Card;
        var b = ObjectiveTrainer.FitRewards(ObjectiveForm.Linear, Data(), "maze/train", new FormOptions(), new TrainingOptions(Steps: 100, Seed: 9)).Card;
        Assert.Equal(ObjectiveCardFile.ToJson(a), ObjectiveCardFile.ToJson(b));
    }

    internal static double KendallTau(double[] x, double[] y)
    {
        long concordant = 0, discordant = 0;
        for (var i = 0; i < x.Length; i++)
        {
            for (var j = i + 1; j < x.Length; j++)
            {
                var dx = Math.Sign(x[i] - x[j]);
                var dy = Math.Sign(Math.Round(y[i] - y[j], 9));
                if (dx == 0)
                {
                    continue;
                }
                if (dx == dy)
                {
                    concordant++;
                }
                else
                {
                    discordant++;
                }
            }
        }
        return (double)(concordant - discordant) / Math.Max(1, concordant + discordant);
    }
}
