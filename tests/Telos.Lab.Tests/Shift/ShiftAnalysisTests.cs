using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Shift;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;

namespace Telos.Lab.Tests.Shift;

/// <summary>The maze-shift experiment's pieces: the AUC and its bootstrap, the audits, the proxy region, reachability, the config.</summary>
public sealed class ShiftAnalysisTests
{
    [Fact]
    public void TheAucCountsFailedAboveNotFailedWithTiesAsHalf()
    {
        Assert.Equal(1.0, MazeShiftAnalysis.Auc([(0.9, true), (0.8, true), (0.1, false), (0.2, false)]));
        Assert.Equal(0.0, MazeShiftAnalysis.Auc([(0.1, true), (0.9, false)]));
        // 2 failed × 2 not: (0.5 > 0.3) 1, (0.5 vs 0.5) ½, (0.2 < 0.3) 0, (0.2 < 0.5) 0 → 1.5 / 4.
        Assert.Equal(0.375, MazeShiftAnalysis.Auc([(0.5, true), (0.2, true), (0.3, false), (0.5, false)]));
        Assert.Null(MazeShiftAnalysis.Auc([(0.5, true), (0.2, true)]));
    }

    [Fact]
    public void TheBootstrapIntervalHoldsTheAucAndIsAPureFunctionOfItsSeed()
    {
        var points = Enumerable.Range(0, 40).Select(i => (Score: i / 40.0 + (i % 3) * 0.2, Failed: i % 2 == 0)).ToArray();
        var (auc, low, high) = MazeShiftAnalysis.AucWithInterval(points, 7);
        Assert.Equal(MazeShiftAnalysis.Auc(points), auc);
        Assert.True(low < auc && auc < high, $"{low} < {auc} < {high}");
        Assert.Equal((auc, low, high), MazeShiftAnalysis.AucWithInterval(points, 7));
        Assert.NotEqual(low, MazeShiftAnalysis.AucWithInterval(points, 8).Low);
        Assert.Equal((null, null, null), MazeShiftAnalysis.AucWithInterval([(0.5, false)], 7));
    }

    [Fact]
    public void EpicOfArrivalRewardsIsThePearsonDistanceOfTheirValues()
    {
        double[] a = [0, 1, 2, 3, 10];
        Assert.Equal(0.0, ObjectiveAudits.Distance(a, a.Select(v => 3 * v + 5).ToArray()), 6);
        Assert.Equal(1.0, ObjectiveAudits.Distance(a, a.Select(v => -v).ToArray()), 6);
        Assert.Equal(Math.Sqrt(0.5), ObjectiveAudits.Distance(a, [4, 4, 4, 4, 4]), 6);
        Assert.InRange(ObjectiveAudits.Distance(a, [1, 0, 3, 2, 9]), 0.05, 0.5);
    }

    [Fact]
    public void DisagreementIsWithTheRestOfTheEnsembleNotWithItself()
    {
        double[] agree = [0, 1, 2, 3];
        double[] alsoAgree = [1, 3, 5, 7];
        double[] opposite = [3, 2, 1, 0];
        var ensemble = new[] { agree, alsoAgree, opposite };
        // The mean of the others' standardized values is flat for the first two (one agrees, one opposes): no correlation.
        Assert.Equal(Math.Sqrt(0.5), ObjectiveAudits.Disagreement(ensemble, 0), 6);
        // The third is the opposite of both others.
        Assert.Equal(1.0, ObjectiveAudits.Disagreement(ensemble, 2), 6);
        Assert.Equal(0.0, ObjectiveAudits.Disagreement([agree, alsoAgree], 0), 6);
        Assert.Equal(0.0, ObjectiveAudits.Spread([agree, alsoAgree]), 12);
        Assert.True(ObjectiveAudits.Spread(ensemble) > 0.5);
    }

    [Fact]
    public void TheUnidentifiedWeightShareIsTheWeightOnFeaturesTheAuditFlags()
    {
        var parameters = DistributionParameters.Of(("size", 7));
        var data = ObjectiveData.Sample("maze/train", parameters, 10, 50, 1);
        var audit = FeatureIdentifiability.Audit(data, Maze.FeatureNames.Names.ToList());
        Assert.True(audit.IsUnidentified("at_corner"));
        Assert.False(audit.IsUnidentified("x"));
        var onTheCorner = ObjectiveCard.Linear([new("at_cheese", 5.0), new("at_corner", 5.0)]);
        var onX = ObjectiveCard.Linear([new("x", 1.0)]);
        Assert.Equal(1.0, ObjectiveAudits.UnidentifiedWeightShare(onTheCorner, audit, data));
        Assert.Equal(0.0, ObjectiveAudits.UnidentifiedWeightShare(onX, audit, data));
        var half = ObjectiveAudits.UnidentifiedWeightShare(ObjectiveCard.Linear([new("at_cheese", 1.0), new("x", 1.0)]), audit, data)!.Value;
        Assert.InRange(half, 0.01, 0.99);
    }

    [Fact]
    public void TheProxyRegionCountsEndingsInTheTopRightRegionOfLevelsWithTheCheeseOutsideIt()
    {
        var levels = MazeFamily.Instance.Typed("maze/test", DistributionParameters.Of(("size", 7)));
        var seeds = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
        var outside = seeds.Where(s => !ShiftMeasurement.InTopRight(levels.Level(s).Cheese, 7, 3)).ToArray();
        Assert.NotEmpty(outside);
        Assert.True(outside.Length < seeds.Length);
        // Every episode ended on (4, 4), the region's inner corner: inside the top-right 3×3 region (x, y ≥ 4), not on the corner (6, 6).
        var records = seeds.Select(s => new Agents.EpisodeRecord(s, 1, 0, false, true, false, false, false, true, true, true, "elsewhere", 4, 4)).ToArray();
        Assert.Equal(new Agents.Rate(outside.Length, outside.Length), ShiftMeasurement.ProxyRegion(levels, records, 3));
        Assert.Equal(0, ShiftMeasurement.ProxyRegion(levels, records, 1).Count);
        var farAway = records.Select(r => r with { EndX = 4, EndY = 3 }).ToArray();
        Assert.Equal(0, ShiftMeasurement.ProxyRegion(levels, farAway, 3).Count);
    }

    [Fact]
    public void ACellBehindTheCheeseIsNotReachable()
    {
        // The start is bottom-left; the only way up goes through the cheese C.
        var maze = Maze.Parse("""
            ..#
            C##
            ...
            """);
        Assert.False(Retargeting.ReachableAvoidingCheese(maze, Retargeting.CellOf(maze, 0, 2)));
        Assert.True(Retargeting.ReachableAvoidingCheese(maze, Retargeting.CellOf(maze, 2, 0)));
        Assert.Equal(maze.Start, Retargeting.CellOf(maze, 0, 0));
    }

    [Fact]
    public void TheConfigReadsEachPolicysTableAndRefusesAnUnknownAgentGroup()
    {
        var experiment = new MazeShiftExperiment();
        var settings = experiment.Configure(ConfigFile.Parse("""
            agents = "ppo-drc"
            [ppo-drc]
            drc_layers = 1
            drc_ticks = 4
            total_timesteps = 4096
            """, "shift.toml"));
        Assert.Equal((1, 4), (settings.Ppo[PolicyKind.Drc].Policy.DrcLayers, settings.Ppo[PolicyKind.Drc].Policy.DrcTicks));
        Assert.Equal(PolicyKind.Drc, settings.Ppo[PolicyKind.Drc].Policy.Kind);
        Assert.Equal(4096, settings.Ppo[PolicyKind.Drc].Ppo.TotalTimesteps);
        Assert.Equal(PolicyKind.Lstm, settings.Ppo[PolicyKind.Lstm].Policy.Kind);
        var error = Assert.Throws<TelosInputException>(() => experiment.Configure(ConfigFile.Parse("agents = \"ppo-gru\"", "shift.toml")));
        Assert.Contains("shift.toml:1", error.Message, StringComparison.Ordinal);
        Assert.Contains("agents", error.Message, StringComparison.Ordinal);
        Assert.Throws<TelosInputException>(() => experiment.Configure(ConfigFile.Parse("objectives = [\"reward-linear\", \"reward-linear\"]", "shift.toml")));
    }

    [Fact]
    public void TheEnsembleAuditIsZeroForIdenticalFitsAndGrowsWhenFitsDiffer()
    {
        double[] a = [0, 1, 2, 3];
        Assert.Equal(0.0, ObjectiveAudits.EnsembleDisagreement([a, a, a]));
        Assert.Equal(0.0, ObjectiveAudits.EnsembleDisagreement([[4, 4, 4, 4], [4, 4, 4, 4]])); // constants agree
        Assert.Equal(Math.Sqrt(0.5), ObjectiveAudits.EnsembleDisagreement([[4, 4, 4, 4], a]), 9); // a constant ranks nothing
        Assert.Equal(1.0, ObjectiveAudits.EnsembleDisagreement([a, [3, 2, 1, 0]]), 9);
        // Pairs (a, a) 0, (a, −a) 1, (a, −a) 1: the mean over the three pairs.
        Assert.Equal(2.0 / 3, ObjectiveAudits.EnsembleDisagreement([a, a, [3, 2, 1, 0]]), 9);
        Assert.Throws<ArgumentException>(() => ObjectiveAudits.EnsembleDisagreement([a]));

        // Nets over the observation fitted to the same data: the same initialization seed gives the same values, another seed others.
        var parameters = DistributionParameters.Of(("size", 7));
        var level = MazeFamily.Instance.Typed("maze/test", parameters).Level(11);
        double[] Member(long init)
        {
            var (card, module) = ObjectiveTraining.Train(new ObjectiveTrainingRequest(ObjectiveSignal.Reward, ObjectiveForm.Net, "maze/train", parameters,
                Levels: 3, SamplesPerLevel: 50, Seed: 2, Steps: 30, FormOptions: new FormOptions(Hidden: [8]), InitSeed: init));
            return ObjectiveAudits.StateValues(LoadedObjective.Of(card, module), [level]);
        }
        var first = Member(1);
        Assert.Equal(0.0, ObjectiveAudits.EnsembleDisagreement([first, Member(1)]));
        Assert.True(ObjectiveAudits.EnsembleDisagreement([first, Member(2), Member(3)]) > 0.01);
    }

    [Fact]
    public void TheIdentifiabilityShareOfANetOverFeaturesIsItsSensitivityToTheFlaggedFeatures()
    {
        var parameters = DistributionParameters.Of(("size", 7));
        var data = ObjectiveData.Sample("maze/train", parameters, 10, 50, 1);
        var audit = FeatureIdentifiability.Audit(data, Maze.FeatureNames.Names.ToList());
        // A linear card's share through its module (the gradient is the weight) equals the share from its weights.
        var card = ObjectiveCard.Linear([.. Maze.FeatureNames.Names.Select((f, i) => new KeyValuePair<string, double>(f, f == "at_corner" ? 5.0 : i * 0.1))]);
        var viaWeights = ObjectiveAudits.UnidentifiedWeightShare(card, audit, data)!.Value;
        Assert.InRange(viaWeights, 0.05, 0.95);
        var net = (NetObjectiveForm)ObjectiveTrainer.Create(ObjectiveForm.Net, data.Features, default, new FormOptions(Hidden: [6], Input: ObjectiveInput.Features), 3);
        var netCard = net.ToCard(Provenance.Manual);
        var share = ObjectiveAudits.UnidentifiedWeightShare(LoadedObjective.Of(netCard, net), audit, data);
        Assert.InRange(share!.Value, 0.01, 0.99);
        // The linear form over the observation reads no named feature: no share.
        var observed = ObjectiveData.Sample("maze/train", parameters, 2, 20, 1, observations: true);
        var overObservation = ObjectiveTrainer.Create(ObjectiveForm.Linear, observed.Features, observed.ObservationShape!.Value, new FormOptions(Input: ObjectiveInput.Observation), 3);
        Assert.Null(ObjectiveAudits.UnidentifiedWeightShare(LoadedObjective.Of(overObservation.ToCard(Provenance.Manual), overObservation), audit, data));
    }

    [Fact]
    public void TheTwoByTwoNamesSayFormAndInput()
    {
        var ids = ShiftObjective.All.Select(o => o.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ObjectiveInput.Observation, FormByInput.Parse("reward-linear-obs")!.Input);
        Assert.Equal(ObjectiveForm.Linear, FormByInput.Parse("reward-linear-obs")!.Form);
        Assert.Equal(ObjectiveInput.Features, FormByInput.Parse("prefs-net-feat")!.Input);
        Assert.Equal(ObjectiveInput.Observation, FormByInput.Parse("prefs-net")!.Input);
        Assert.Equal(ObjectiveInput.Features, FormByInput.Parse("reward-linear")!.Input);
        Assert.Null(FormByInput.Parse("reward-sparse"));
        Assert.Null(FormByInput.Parse("demos-linear"));
        var settings = new MazeShiftExperiment().Configure(ConfigFile.Parse("""
            objectives = ["reward-linear", "reward-linear-obs", "reward-net-feat"]
            ensemble_members = 4
            """, "shift.toml"));
        Assert.Equal([ObjectiveInput.Features, ObjectiveInput.Observation, ObjectiveInput.Features], settings.Objectives.Select(o => o.Input));
        Assert.Equal(4, settings.EnsembleMembers);
    }
}
