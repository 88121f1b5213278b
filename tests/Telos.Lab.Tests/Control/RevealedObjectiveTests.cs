using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Control;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Lab.Tests.Control;

[Collection("torch")]
public sealed class RevealedObjectiveTests
{
    private static readonly MaxEntIrlOptions Irl = new(Horizon: 20, Iterations: 100);

    /// <summary>A black box that is really a planner over <paramref name="card"/>: its revealed card must say what it pursues.</summary>
    private static RevealedObjectiveResult Reveal(ObjectiveCard card)
    {
        var blackBox = AgentActions.Lanes(ControlFixture.Planner(AgentObjective<MazeState>.FromCard(card, "box")), 1);
        var levels = ControlFixture.Levels(30);
        var fitOn = levels with { TrainSeeds = [.. levels.TrainSeeds.Select(s => s + 100)], TestSeeds = [.. levels.TestSeeds.Select(s => s + 100)] };
        return RevealedObjective.Fit(ControlFixture.Family, "box", blackBox, fitOn, levels, ControlFixture.Planner, Irl);
    }

    /// <summary>The feature with the largest positive weight.</summary>
    private static string Dominant(ObjectiveCard card) => card.Features[card.Weights.IndexOf(card.Weights.Max())];

    [Fact]
    public void APlannerOverTheCornerRevealsTheCorner()
    {
        var result = Reveal(ObjectiveCard.Linear([new("at_corner", 10.0)]));
        Assert.Equal(60, result.Demonstrations);
        var card = result.Card;
        // The known answer: the corner, not the cheese, is what it pursues.
        Assert.Equal("at_corner", Dominant(card));
        var revealed = result.Explained.Single(e => e.Objective == "revealed" && e.Distribution == "maze/test");
        var truth = result.Explained.Single(e => e.Objective == "true" && e.Distribution == "maze/test");
        // Where the cheese blocks the corner the box's card ties every reachable cell and it ends at random, so endings agree on the rest.
        Assert.True(revealed.SameEnding.Value >= 0.5, $"revealed explains {revealed.SameEnding}: {card.Describe()}");
        Assert.True(revealed.SameEnding.Value > truth.SameEnding.Value + 0.3, $"revealed {revealed.SameEnding}, true {truth.SameEnding}");
        Assert.True(revealed.OptimalActions.Mean >= 0.9, $"optimal actions: revealed {revealed.OptimalActions.Mean:F2}");
        Assert.True(truth.OptimalActions.Mean < 0.8, $"optimal actions: true {truth.OptimalActions.Mean:F2}");
        // In distribution too: a halt at the corner is not read as avoiding the corner.
        Assert.True(result.Explained.Single(e => e.Objective == "revealed" && e.Distribution == "maze/train").SameEnding.Value >= 0.9);
        Assert.Equal(30, revealed.SameEnding.Of);
    }

    [Fact]
    public void APlannerOverTheTrueRewardRevealsTheCheese()
    {
        var result = Reveal(ObjectiveCard.Linear([new("at_cheese", 10.0)]));
        Assert.Equal("at_cheese", Dominant(result.Card));
        var revealed = result.Explained.Single(e => e.Objective == "revealed" && e.Distribution == "maze/test");
        Assert.True(revealed.SameEnding.Value >= 0.9, $"revealed explains {revealed.SameEnding}");
    }

    [Fact]
    public void EveryActionOfTheTruePlannerIsOptimalUnderTheTrueReward()
    {
        var level = ControlFixture.Family.Typed("maze/test", ControlFixture.Parameters).Level(9003);
        var truth = ObjectiveCard.Linear([new("at_cheese", 10.0)]);
        var episode = AgentEvaluation.Run(ControlFixture.Planner(AgentObjective<MazeState>.FromCard(truth)), level, 1);
        Assert.Equal(1.0, RevealedObjective.OptimalShare(level, truth, episode, Irl));
        Assert.True(RevealedObjective.OptimalShare(level, ObjectiveCard.Linear([new("at_corner", 10.0)]), episode, Irl) < 1.0);
    }
}
