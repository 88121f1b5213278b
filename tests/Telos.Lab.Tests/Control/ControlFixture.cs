using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Control;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;
using Telos.Planning;

namespace Telos.Lab.Tests.Control;

/// <summary>A tiny shifted task shared by the control tests: 5×5 mazes, a sparse card fitted on maze/train, BFS with random tie-breaking.</summary>
internal static class ControlFixture
{
    public static readonly DistributionParameters Parameters = DistributionParameters.Of(("size", 5), ("step_limit", 20));

    public static MazeFamily Family => MazeFamily.Instance;

    /// <summary>40 levels of each distribution, seeds from 5000 and 9000.</summary>
    public static AnalysisLevels Levels(int count = 40) =>
        new(Parameters, [.. Enumerable.Range(0, count).Select(i => 5000L + i)], [.. Enumerable.Range(0, count).Select(i => 9000L + i)], 17);

    public static TransitionSample TrainingData() =>
        TransitionSample.Collect<MazeState>(s => Family.Typed("maze/train", Parameters).Level(s), 60, 60, seed: 3, firstSeed: 100, uniformStarts: true);

    /// <summary>The sparse card of the demo (its two strongest features): at_cheese and at_corner, equal on maze/train.</summary>
    public static ObjectiveCard LearnedCard(TransitionSample data) =>
        ObjectiveTrainer.FitRewards(ObjectiveForm.Sparse, data, "maze/train", new FormOptions(Keep: 2), new TrainingOptions(Steps: 300, Seed: 4)).Card;

    public static IAgent<MazeState> Planner(AgentObjective<MazeState> objective) =>
        new PlanningAgent<MazeState>(Planners.Create("bfs", Family), objective, PlanBudget.Default with { TieTolerance = 0.01 });

    /// <summary>An untrained tiny LSTM policy for 5×5 mazes (the plumbing of the policy analyses; seeded).</summary>
    public static ActorCritic TinyPolicy()
    {
        var level = Family.Typed("maze/test", Parameters).Level(1);
        return ActorCritic.Create(level.ObservationShape, level.ActionCount, new PolicyOptions(PolicyKind.Lstm, ConvChannels: 4, Features: 16, LstmSize: 16), 7);
    }
}
