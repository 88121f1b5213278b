using Telos.Environments;
using Telos.Lab.Control;
using Telos.Learning.Objectives;

namespace Telos.Lab.Tests.Control;

[Collection("torch")]
public sealed class GoalRegressionCurveTests
{
    private static readonly RegressionCurveSettings Settings = new([0, 64], AnchorWeight: 1.0, AnchorRows: 500, new TrainingOptions(Steps: 400, LearningRate: 0.05, Seed: 5), Seed: 21);

    [Fact]
    public void LabelsFollowTheStatedRuleAndAreNested()
    {
        var family = ControlFixture.Family;
        var labels = GoalRegressionCurve.DrawLabels(family, "maze/test", ControlFixture.Parameters, 200, 21);
        var first = GoalRegressionCurve.DrawLabels(family, "maze/test", ControlFixture.Parameters, 16, 21);
        Assert.Equal(labels.Take(16), first);
        var test = family.Typed("maze/test", ControlFixture.Parameters);
        foreach (var label in labels)
        {
            var level = test.Level(label.LevelSeed);
            var cell = level.StateAt(label.State).Cell;
            Assert.Equal(cell == level.Cheese ? 10.0 : 0.0, label.Value);
            Assert.Equal(cell == level.Cheese, label.OnGoal);
            Assert.Equal(cell == level.Corner && cell != level.Cheese, label.OnProxy);
        }
        // Uniform over states: about one label in (open cells) is on the cheese, and some land on the corner.
        Assert.InRange(labels.Count(l => l.OnGoal), 3, 40);
        Assert.InRange(labels.Count(l => l.OnProxy), 3, 40);
        Assert.DoesNotContain(GoalRegressionCurve.DrawLabels(family, "maze/test", ControlFixture.Parameters, 200, 21, skipProxy: true), l => l.OnProxy);
    }

    [Fact]
    public void SixtyFourLabelsMoveTheCardTowardTheCheese()
    {
        var data = ControlFixture.TrainingData();
        var card = ControlFixture.LearnedCard(data);
        var levels = ControlFixture.Levels();
        var rows = GoalRegressionCurve.Run(ControlFixture.Family, "bfs + card", card, data, ControlFixture.Planner, levels, Settings);

        Assert.Equal(GoalRegressionCurve.Variants.Count * 2 * 2, rows.Count);
        Assert.All(rows.Where(r => r.Budget == 0), r => Assert.Equal(OperationCost.None, r.Cost));
        double TestSuccess(string variant, int k) => rows.Single(r => r.Variant == variant && r.Budget == k && r.Summary.Distribution == "maze/test").Summary.Success.Value;
        var before = TestSuccess("anchor", 0);
        var after = TestSuccess("anchor", 64);
        // The corner-trained card splits its weight between the cheese and the corner; labelled corners (value 0) take the corner's share away.
        Assert.True(after >= before + 0.2, $"maze/test success {before:P0} → {after:P0}");
        var regressed = rows.Single(r => r.Variant == "anchor" && r.Budget == 64 && r.Summary.Distribution == "maze/test");
        Assert.Equal(64, regressed.Cost.Labels);
        Assert.Equal(400, regressed.Cost.GradientSteps);
        Assert.True(regressed.ProxyLabels > 0);
        // In distribution it still finds the cheese.
        Assert.True(rows.Single(r => r.Variant == "anchor" && r.Budget == 64 && r.Summary.Distribution == "maze/train").Summary.Success.Value >= 0.9);
    }

    [Fact]
    public void ANetworkObjectiveIsRefusedByName()
    {
        var card = new Telos.Objectives.ObjectiveCard { Form = Telos.Objectives.ObjectiveForm.Net, Features = [.. Maze.FeatureNames.Names] };
        var error = Assert.Throws<TelosInputException>(() =>
            GoalRegressionCurve.Run(ControlFixture.Family, "net", card, ControlFixture.TrainingData(), ControlFixture.Planner, ControlFixture.Levels(2), Settings));
        Assert.Contains("'net'", error.Message, StringComparison.Ordinal);
    }
}
