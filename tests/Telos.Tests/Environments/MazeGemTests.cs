using Telos.Environments;
using Telos.Objectives;

namespace Telos.Tests.Environments;

/// <summary>The maze's gem (<c>gems = 1</c>): a second item placed by the seed, with its own feature and observation channel.</summary>
public sealed class MazeGemTests
{
    [Fact]
    public void The_gem_is_placed_by_the_seed_on_an_open_cell_that_is_neither_the_start_nor_the_cheese()
    {
        foreach (var size in new[] { 3, 5, 7, 13 })
        {
            foreach (var name in new[] { "maze/train", "maze/test", "maze/far" })
            {
                var withGem = TaskDistributions.Maze(name, size, gems: 1);
                var without = TaskDistributions.Maze(name, size);
                var cells = new HashSet<int>();
                for (var seed = 0L; seed < 60; seed++)
                {
                    var level = withGem.Level(seed);
                    var plain = without.Level(seed);
                    Assert.True(level.HasGem);
                    Assert.Equal(level.Gem, withGem.Level(seed).Gem);
                    Assert.True(level.IsOpen(level.Gem), $"{name} {size} seed {seed}: the gem is on a wall");
                    Assert.NotEqual(level.Start, level.Gem);
                    Assert.NotEqual(level.Cheese, level.Gem);
                    // The gem has its own stream: walls and cheese are the seed's without gems.
                    Assert.True(level.OpenCells.SequenceEqual(plain.OpenCells));
                    Assert.Equal(plain.Cheese, level.Cheese);
                    Assert.False(plain.HasGem);
                    Assert.Equal(-1, plain.Gem);
                    cells.Add(level.Gem);
                }
                Assert.True(cells.Count > 1, $"{name} {size}: every seed put the gem on the same cell");
            }
        }
    }

    [Fact]
    public void A_gem_level_adds_the_at_gem_feature_and_a_fourth_channel_and_nothing_else()
    {
        var level = TaskDistributions.Maze("maze/test", 7, gems: 1).Level(3);
        var plain = TaskDistributions.Maze("maze/test", 7).Level(3);
        Assert.Equal(Maze.FeatureNames, plain.Features);
        Assert.Equal(new ObservationShape(3, 7, 7), plain.ObservationShape);
        Assert.Equal([.. Maze.FeatureNames.Names, "at_gem"], level.Features.Names);
        Assert.Equal(new ObservationShape(4, 7, 7), level.ObservationShape);
        var plane = 49;
        var observation = new float[4 * plane];
        var plainObservation = new float[3 * plane];
        var features = new double[9];
        var plainFeatures = new double[8];
        for (var state = 0; state < level.StateCount; state++)
        {
            var s = level.StateAt(state);
            level.WriteObservation(s, observation);
            plain.WriteObservation(s, plainObservation);
            Assert.True(observation.AsSpan(0, 3 * plane).SequenceEqual(plainObservation));
            Assert.Equal(1f, observation.AsSpan(3 * plane).ToArray().Sum());
            Assert.Equal(1f, observation[Maze.GemChannel * plane + level.Gem]);
            level.WriteFeatures(s, features);
            plain.WriteFeatures(s, plainFeatures);
            Assert.Equal(plainFeatures, features[..8]);
            Assert.Equal(s.Cell == level.Gem ? 1.0 : 0.0, features[8]);
            // The gem changes no dynamics: the same step from every state, with every action.
            for (var a = 0; a < 4; a++)
            {
                Assert.Equal(plain.Step(s, a), level.Step(s, a));
            }
        }
        var blind = level.WithoutGem();
        Assert.False(blind.HasGem);
        Assert.Equal(plain.Render(plain.Initial), blind.Render(blind.Initial));
        Assert.Equal(level.Provenance, blind.Provenance);
        Assert.Same(plain, plain.WithoutGem());
    }

    [Fact]
    public void The_picture_marks_the_gem_and_parses_back()
    {
        var level = TaskDistributions.Maze("maze/test", 7, gems: 1).Level(5);
        var picture = level.Render(level.Initial);
        Assert.Equal(1, picture.Count(c => c == 'G'));
        var parsed = Maze.Parse(picture);
        Assert.Equal(level.Gem, parsed.Gem);
        Assert.Equal(level.Cheese, parsed.Cheese);
        Assert.Contains('g', level.Render(new MazeState(level.Gem, 1)));
    }

    [Fact]
    public void Gem_levels_step_write_features_and_observations_without_allocating()
    {
        var maze = TaskDistributions.Maze("maze/test", 13, gems: 1).Level(1);
        var features = new double[9];
        var observation = new float[4 * 13 * 13];
        var m = maze.Initial;
        maze.Step(m, 0);
        maze.WriteFeatures(m, features);
        maze.WriteObservation(m, observation);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 0; t < 5000; t++)
        {
            var r = maze.Step(m, t & 3);
            m = r.Done ? maze.Initial : r.Next;
            maze.WriteFeatures(m, features);
            maze.WriteObservation(m, observation);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void The_family_judges_the_gem_goal_and_its_ceiling_stops_at_the_cheese()
    {
        var family = MazeFamily.Instance;
        // The gem behind the cheese in a corridor: reachable only through the cheese, which ends the episode.
        var behind = Maze.Parse("""
            #G#
            #C#
            M..
            """);
        Assert.False(family.Reachable(behind, "gem")!.Value);
        var open = Maze.Parse("""
            ..G
            .#C
            M..
            """);
        Assert.True(family.Reachable(open, "gem")!.Value);
        Assert.True(family.Reached(open, new MazeState(open.Gem, 4), "gem"));
        Assert.False(family.Reached(open, new MazeState(open.Cheese, 4), "gem"));
        var plain = TaskDistributions.Maze("maze/test", 7).Level(1);
        Assert.False(family.Reachable(plain, "gem")!.Value);
    }

    [Fact]
    public void Gems_other_than_zero_or_one_are_input_errors()
    {
        var e = Assert.Throws<TelosInputException>(() => new MazeDistribution(CheesePlacement.Anywhere, 7, gems: 2));
        Assert.Contains("gems 2", e.Message, StringComparison.Ordinal);
        var family = Assert.Throws<TelosInputException>(() => MazeFamily.Instance.Distribution("maze/test", DistributionParameters.Of(("gems", 3))));
        Assert.Contains("gems", family.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_added_weight_reads_a_feature_the_card_never_had()
    {
        var card = ObjectiveCard.Linear([new("at_cheese", 5.0), new("at_corner", 5.0)]);
        var edited = card.SetWeight("at_cheese", 0).AddWeight(Maze.AtGem, 1);
        Assert.Equal(["at_cheese", "at_corner", "at_gem"], edited.Features.ToArray());
        Assert.Equal([0.0, 5.0, 1.0], edited.Weights.ToArray());
        Assert.Equal(2, edited.Revision);
        Assert.Equal("add at_gem=1", edited.History[^1]);
        Assert.Throws<TelosInputException>(() => edited.AddWeight("at_corner", 2));
        Assert.Throws<TelosInputException>(() => card.AddWeight("at_gem", double.NaN));
        var monotone = card with { Form = ObjectiveForm.Monotone, Signs = [1, 0] };
        Assert.Equal([1, 0, 0], monotone.AddWeight(Maze.AtGem, 1).Signs.ToArray());
    }
}
