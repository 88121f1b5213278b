using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Learning.Tests.Objectives;

/// <summary>The snippet of docs/objectives.md ("Library API for the demo"), run as written.</summary>
public sealed class DemoApiTests
{
    [Fact]
    public void DocumentedSnippetTrainsPrintsEditsComparesAndRegresses()
    {
        // 1. Train a linear objective by reward regression on maze/train transitions.
        var train = TaskDistributions.Maze("maze/train", size: 7);
        var data = TransitionSample.Collect<MazeState>(s => train.Level(s), levels: 10, stepsPerLevel: 100, seed: 1, episodeLength: 14, uniformStarts: true);
        var (learned, _) = ObjectiveTrainer.FitRewards(ObjectiveForm.Linear, data, "maze/train", new FormOptions(), new TrainingOptions(Steps: 300, Seed: 1));

        // 2. Print its card.
        var text = learned.Describe();

        // 3. Edit a weight.
        var edited = learned.ZeroWeight("at_corner").SetWeight("at_cheese", 10);

        // 4. EPIC between two objectives over transitions sampled from maze/test.
        var test = TaskDistributions.Maze("maze/test", size: 7);
        var sample = TransitionSample.Collect<MazeState>(s => test.Level(s), levels: 10, stepsPerLevel: 100, seed: 2, episodeLength: 14, uniformStarts: true);
        var epic = Epic.Distance(learned.CompileTransition(), edited.CompileTransition(), sample);

        // 5. Goal regression from a handful of labelled states, anchored to current values elsewhere.
        var level = Enumerable.Range(0, 10).Select(s => test.Level(s)).First(l => l.Cheese != l.Corner);
        var goal = ObjectiveTrainer.RegressTowardGoal(LoadedObjective.Of(learned), level,
            labelled: [(new MazeState(level.Corner, 0), 0.0), (new MazeState(level.Cheese, 0), 10.0)],
            anchor: Enumerable.Range(0, level.StateCount).Select(level.StateAt),
            anchorWeight: 1.0, new TrainingOptions(Steps: 300, LearningRate: 0.1, Seed: 3));

        // 6. Hand it to a planner.
        var evaluator = new FeatureObjectiveEvaluator<MazeState>(level, goal.Compile());

        Assert.Contains("at_cheese", text);
        Assert.True(Math.Abs(learned.Weight("at_cheese") - learned.Weight("at_corner")) < 0.5, text);
        Assert.InRange(epic.Distance, 0.05, 1.0);
        Assert.True(evaluator.Evaluate(new MazeState(level.Corner, 0)) < 1.0, goal.Describe());
        Assert.True(evaluator.Evaluate(new MazeState(level.Cheese, 0)) > 8.0, goal.Describe());
    }
}
