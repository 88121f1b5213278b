using System.Collections.Immutable;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Evaluation;
using Telos.Lab.Signatures;
using Telos.Lab.Tests.Control;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;

namespace Telos.Lab.Tests.Signatures;

[Collection("torch")]
public sealed class PlanningSignaturesTests
{
    private static readonly long[] Seeds = [.. Enumerable.Range(0, 60).Select(i => 9000L + i)];

    [Fact]
    public void EveryHookPointOfThePolicyIsProbedBesideTheObservation()
    {
        using var policy = ControlFixture.TinyPolicy();
        var rows = PlanningSignatures.ProbePolicy(ControlFixture.Family, "tiny", policy, "maze/test", ControlFixture.Parameters, Seeds, 3,
            [PlanningSignatures.CheeseCell(5)], ProbeSettings.Default(5));

        Assert.Equal((policy.HookPoints.Count + 1) * 4, rows.Count);
        Assert.Equal(PlanningSignatures.ObservationPoint, rows[0].Point);
        var next = rows.Single(r => r.Point == LstmActorCritic.HiddenPoint && r.Target == "action +1");
        Assert.Equal(16, next.Width);
        Assert.Equal(4 * 2 * 25, rows.Single(r => r.Point == GridEncoder.Conv2Point && r.Target == "action +1").Width);
        Assert.InRange(next.ByLevel.Mean, next.ByLevel.Low, next.ByLevel.High);
        // The cheese is one cell of the observation's cheese channel: the input control reads it (held-out levels with cheese cells seen in training).
        var cheese = rows.Single(r => r.Point == PlanningSignatures.ObservationPoint && r.Target == "cheese cell");
        Assert.True(cheese.HeldOutAccuracy >= 0.8, $"cheese cell from the observation: {cheese.HeldOutAccuracy:F2}");
        Assert.Equal(cheese.HeldOutRows + cheese.TrainRows, next.HeldOutRows + next.TrainRows);
    }

    /// <summary>
    /// A synthetic recording with known signals: point "plan" holds the one-hot of the action taken three steps
    /// later (the 4th next action), point "goal" the one-hot of the cheese cell, point "noise" neither.
    /// </summary>
    [Fact]
    public void ProbesFindTheKnownSignalsOfASyntheticRecording()
    {
        var stream = Telos.Randomness.Seeds.Stream(9, "synthetic");
        var test = ControlFixture.Family.Typed("maze/test", ControlFixture.Parameters);
        var recordings = new List<ProbeRecording<MazeState>>();
        foreach (var seed in Seeds)
        {
            var level = test.Level(seed);
            var actions = Enumerable.Range(0, 30).Select(_ => stream.NextInt(4)).ToArray();
            float[] OneHot(int width, int hot) => [.. Enumerable.Range(0, width).Select(i => i == hot ? 1f : 0f)];
            float[] Noise() => [.. Enumerable.Range(0, 8).Select(_ => (float)stream.NextGaussian())];
            recordings.Add(new ProbeRecording<MazeState>(seed, level, actions, new Dictionary<string, IReadOnlyList<float[]>>
            {
                ["plan"] = [.. Enumerable.Range(0, 30).Select(t => t + 3 < 30 ? OneHot(4, actions[t + 3]) : OneHot(4, 0))],
                ["goal"] = [.. Enumerable.Range(0, 30).Select(_ => OneHot(25, level.Cheese))],
                ["noise"] = [.. Enumerable.Range(0, 30).Select(_ => Noise())],
            }));
        }
        var rows = PlanningSignatures.Probe("synthetic", ["plan", "goal", "noise"], recordings, [PlanningSignatures.CheeseCell(5)], ProbeSettings.Default(5) with { Lambda = 1e-3 });
        double Accuracy(string point, string target) => rows.Single(r => r.Point == point && r.Target == target).HeldOutAccuracy;

        Assert.Equal(1.0, Accuracy("plan", "action +4"));
        Assert.InRange(Accuracy("plan", "action +1"), 0.1, 0.45);
        Assert.InRange(Accuracy("noise", "action +4"), 0.1, 0.45);
        Assert.True(Accuracy("goal", "cheese cell") >= 0.8, $"cheese cell from goal: {Accuracy("goal", "cheese cell"):F2}");
        Assert.True(Accuracy("noise", "cheese cell") < 0.5);
        var plan = rows.Single(r => r.Point == "plan" && r.Target == "action +4");
        Assert.Equal(1.0, plan.ByLevel.Mean);
        Assert.Equal(Seeds.Length * 27, plan.TrainRows + plan.HeldOutRows);
    }

    [Fact]
    public void TheNetworkObjectivesHiddenLayersAreProbedAsTheControl()
    {
        var data = TransitionSample.Collect<MazeState>(s => ControlFixture.Family.Typed("maze/train", ControlFixture.Parameters).Level(s), 20, 40, seed: 3, firstSeed: 100,
            uniformStarts: true, observations: true);
        var (card, module) = ObjectiveTrainer.FitRewards(ObjectiveForm.Net, data, "maze/train", new FormOptions(Hidden: ImmutableArray.Create(12, 6)),
            new TrainingOptions(Steps: 150, LearningRate: 0.01, Seed: 3));
        var network = (NetObjectiveForm)module;
        var agent = ControlFixture.Planner(LoadedObjective.Of(card, network).ForAgent<MazeState>("net"));
        var rows = PlanningSignatures.ProbeNetworkObjective(ControlFixture.Family, "bfs + net", agent, network, "maze/test", ControlFixture.Parameters, Seeds, 3,
            [PlanningSignatures.CheeseCell(5)], ProbeSettings.Default(5));

        Assert.Equal(["observation", "net.hidden0", "net.hidden1"], rows.Select(r => r.Point).Distinct());
        Assert.Equal([75, 12, 6], rows.Where(r => r.Target == "cheese cell").Select(r => r.Width));
        Assert.All(rows, r => Assert.InRange(r.HeldOutAccuracy, 0, 1));
    }

    [Fact]
    public void ThinkingStepsRunThroughTheEvaluationPath()
    {
        using var policy = ControlFixture.TinyPolicy();
        var levels = ControlFixture.Levels(10);
        var rows = PlanningSignatures.ThinkingCurve(ControlFixture.Family, "tiny", policy, levels, [0, 2]);
        Assert.Equal([0, 0, 2, 2], rows.Select(r => r.ThinkingSteps));
        Assert.Equal(["maze/train", "maze/test", "maze/train", "maze/test"], rows.Select(r => r.Summary.Distribution));
        using var plain = new Telos.Learning.Reinforcement.PolicyAgent<MazeState>(policy, AgentEvaluations.PolicyLanes, "tiny");
        var expected = AgentEvaluation.Evaluate(plain, ControlFixture.Family, "maze/test", levels.Parameters, levels.TestSeeds, levels.EvaluationSeed).Summary;
        Assert.Equal(expected, rows[1].Summary);
    }
}
