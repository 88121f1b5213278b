using Telos.Agents;
using Telos.Lab.Control;
using Telos.Lab.Signatures;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;

namespace Telos.Lab.Tests.Control;

[Collection("torch")]
public sealed class PolicyFineTuningTests
{
    private static float[] Weights(ActorCritic policy) => [.. policy.parameters().SelectMany(p => p.data<float>().ToArray())];

    [Fact]
    public void FineTuningTrainsACopyOnMatchedStepsAndLeavesThePolicyAsItWas()
    {
        using var policy = ControlFixture.TinyPolicy();
        var before = Weights(policy);
        var settings = new FineTuneSettings([0, 4, 16], StepsPerLabel: 3, new PpoSettings { LearningRate = 0.01, UpdateEpochs = 2, NumEnvs = 8, NumMinibatches = 4 }, Seed: 5);
        var rows = PolicyFineTuning.Run(ControlFixture.Family, "tiny", policy, ControlFixture.Levels(10), settings);

        Assert.Equal(before, Weights(policy));
        Assert.Equal([0, 0, 4, 4, 16, 16], rows.Select(r => r.Budget));
        Assert.All(rows, r => Assert.Equal(PolicyFineTuning.Variant, r.Variant));
        var four = rows.First(r => r.Budget == 4);
        // 12 steps: gcd(12, 8) = 4 environments × 3 steps, one rollout, 2 epochs × gcd(4, 4) minibatches.
        Assert.Equal(new[] { 0L, 8L, 12L }, new[] { (long)four.Cost.Labels, four.Cost.GradientSteps, four.Cost.EnvironmentSteps });
        Assert.Equal(48, rows.First(r => r.Budget == 16).Cost.EnvironmentSteps);
        Assert.Equal(OperationCost.None, rows[0].Cost);
    }

    [Fact]
    public void ACopyComputesWhatTheOriginalComputesAndTrainsApart()
    {
        using var policy = ControlFixture.TinyPolicy();
        using var copy = policy.Copy();
        Assert.Equal(Weights(policy), Weights(copy));
        using (TorchSharp.torch.no_grad())
        {
            copy.parameters().First().add_(1f);
        }
        Assert.NotEqual(Weights(policy), Weights(copy));
    }

    [Fact]
    public void TheCostTableHasARowPerOperation()
    {
        var data = ControlFixture.TrainingData();
        var card = ControlFixture.LearnedCard(data);
        var levels = ControlFixture.Levels(20);
        var curve = GoalRegressionCurve.Run(ControlFixture.Family, "card", card, data, ControlFixture.Planner, levels,
            new RegressionCurveSettings([16], 1.0, 200, new Telos.Learning.Objectives.TrainingOptions(Steps: 100, LearningRate: 0.05, Seed: 1), 3));
        var regressed = curve.First(r => r.Variant == "anchor" && r.Summary.Distribution == "maze/test");
        var cardRows = ControlCosts.ForCard(ControlFixture.Family, "card", card, ControlFixture.Planner, levels, regressed, ("zero at_corner", c => c.ZeroWeight("at_corner")),
            ("x − y: the bottom-right cell", ObjectiveCard.Linear([new("x", 1.0), new("y", -1.0)])), "bottom-right");
        Assert.Equal(["inspect", "regress", "edit", "swap"], cardRows.Select(r => r.Operation));
        Assert.Null(cardRows[0].Success);
        Assert.Equal(16, cardRows[1].Cost.Labels);
        // Zeroing the corner's weight leaves the cheese as the card's only goal; the swapped card goes to the bottom-right cell.
        Assert.True(cardRows[2].Success!.Value.Value >= 0.9, $"edit: {cardRows[2].Success}");
        Assert.True(cardRows[3].Success!.Value.Value >= 0.5, $"swap: {cardRows[3].Success}");

        using var policy = ControlFixture.TinyPolicy();
        var tuned = PolicyFineTuning.Run(ControlFixture.Family, "tiny", policy, levels, new FineTuneSettings([4], 1, new PpoSettings { UpdateEpochs = 1 }, 2))
            .First(r => r.Summary.Distribution == "maze/test");
        var test = ControlFixture.Family.Typed("maze/test", ControlFixture.Parameters);
        var policyRows = ControlCosts.ForPolicy("tiny", policy, levels, [.. levels.TestSeeds.Take(8)], tuned, GridEncoder.Conv1Point,
            [.. levels.TestSeeds.Take(4).Select(test.Level)], 1.0, ProbeSettings.Default(1));
        Assert.Equal(["inspect", "regress", "edit"], policyRows.Select(r => r.Operation));
        Assert.True(policyRows[0].Cost.EnvironmentSteps > 0);
        Assert.Equal(4, policyRows[1].Cost.EnvironmentSteps);
        Assert.Equal(AgentKind.LearnedOptimizer, policyRows[2].Kind);
    }
}
