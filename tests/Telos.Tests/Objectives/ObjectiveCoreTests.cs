using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Tests.Objectives;

public sealed class CompiledLinearObjectiveTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(32)]
    public void BatchMatchesNaiveDotProductWithin1e12(int f)
    {
        var schema = new FeatureSchema(Enumerable.Range(0, f).Select(i => $"f{i}"));
        var rng = new Rng(7);
        var w = Enumerable.Range(0, f).Select(_ => rng.NextGaussian()).ToArray();
        var objective = new CompiledLinearObjective(schema, w, 0.5);
        const int n = 37;
        var x = Enumerable.Range(0, n * f).Select(_ => rng.NextGaussian()).ToArray();
        var values = new double[n];
        objective.Evaluate(x, values);
        for (var i = 0; i < n; i++)
        {
            var expected = 0.5 + Enumerable.Range(0, f).Sum(k => w[k] * x[i * f + k]);
            Assert.True(Math.Abs(values[i] - expected) < 1e-12, $"row {i}: {values[i]} vs {expected}");
            Assert.Equal(values[i], objective.Evaluate(x.AsSpan(i * f, f)), 12);
        }
    }

    [Fact]
    public void WrongShapeAndNaNWeightsAreRefused()
    {
        var schema = new FeatureSchema(["a", "b"]);
        Assert.Throws<ArgumentException>(() => new CompiledLinearObjective(schema, [1.0, double.NaN]));
        var objective = new CompiledLinearObjective(schema, [1.0, 2.0]);
        Assert.Throws<ArgumentException>(() => objective.Evaluate(new double[5], new double[2]));
    }

    [Fact]
    public void FeatureObjectiveEvaluatorBindsByNameAndRefusesMissingFeatures()
    {
        var maze = Maze.Parse("""
            ..C
            .#.
            ...
            """);
        var reordered = new CompiledLinearObjective(new FeatureSchema(["x", "at_cheese"]), [1.0, 10.0]);
        var evaluator = new FeatureObjectiveEvaluator<MazeState>(maze, reordered);
        var states = new[] { new MazeState(6, 0), new MazeState(2, 0) };
        var values = new double[2];
        evaluator.Evaluate(states, values);
        Assert.Equal(0.0, values[0]);
        Assert.Equal(2.0 + 10.0, values[1]);
        var bad = new CompiledLinearObjective(new FeatureSchema(["x", "has_key"]), [1.0, 1.0]);
        var e = Assert.Throws<TelosInputException>(() => new FeatureObjectiveEvaluator<MazeState>(maze, bad));
        Assert.Contains("has_key", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}

public sealed class ObjectiveCardTests
{
    private static ObjectiveCard Sample() => ObjectiveCard.Linear(
        [new("at_cheese", 10.0), new("at_corner", 0.5), new("path_dist_to_cheese", -0.1)], bias: 0.25) with
    {
        Provenance = new Provenance("reward", "maze/train", "abc123", 200, 3, System.Collections.Immutable.ImmutableSortedDictionary<string, double>.Empty.Add("mse", 0.01)),
    };

    [Fact]
    public void JsonRoundTripKeepsEveryField()
    {
        var card = Sample().AddPenalty(new PenaltyTerm("path_dist_to_cheese", 0.5, 3)).Freeze("at_cheese");
        var back = ObjectiveCardFile.Parse(ObjectiveCardFile.ToJson(card));
        Assert.Empty(ObjectiveDiff.Compare(card, back));
        Assert.Equal(card.Weights.ToArray(), back.Weights.ToArray());
        Assert.Equal(card.History.ToArray(), back.History.ToArray());
        Assert.Equal(2, back.Revision);
        Assert.Equal(["at_cheese"], back.FrozenFeatures.ToArray());
    }

    [Fact]
    public void SaveIsAtomicAndLoadValidates()
    {
        var folder = Directory.CreateTempSubdirectory("telos-card-");
        try
        {
            var path = Path.Combine(folder.FullName, "c.json");
            ObjectiveCardFile.Save(Sample(), path);
            Assert.Equal(Sample().Weights.ToArray(), ObjectiveCardFile.Load(path).Weights.ToArray());
            Assert.Single(Directory.GetFiles(folder.FullName));

            var text = File.ReadAllText(path);
            File.WriteAllText(path, text[..(text.Length / 2)]);
            var corrupt = Assert.Throws<TelosInputException>(() => ObjectiveCardFile.Load(path));
            Assert.Contains("c.json", corrupt.Message);
            Assert.Contains("not valid JSON", corrupt.Message);

            File.WriteAllText(path, text.Replace("\"at_corner\": 0.5", "\"at_corner\": \"NaN\"", StringComparison.Ordinal));
            var nan = Assert.Throws<TelosInputException>(() => ObjectiveCardFile.Load(path));
            Assert.Contains("weights.at_corner", nan.Message);
            Assert.Contains("NaN", nan.Message);
            Assert.DoesNotContain("\n", nan.Message);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void FeatureMismatchAgainstEnvironmentNamesTheMissingFeature()
    {
        var card = ObjectiveCard.Linear([new("at_cheese", 1.0), new("keys_held", 1.0)]);
        var e = Assert.Throws<TelosInputException>(() => ObjectiveCardFile.RequireFeatures(card, Maze.FeatureNames, "maze", "card 'x.json'"));
        Assert.Contains("keys_held", e.Message);
        Assert.Contains("x.json", e.Message);
    }

    [Fact]
    public void EditsChangeOnlyWhatTheySayAndAreRecorded()
    {
        var card = Sample();
        var edited = card.Apply("set", "at_cheese=1").Apply("zero", "at_corner").Apply("scale", "path_dist_to_cheese=2");
        Assert.Equal([1.0, 0.0, -0.2], edited.Weights.ToArray());
        Assert.Equal(3, edited.Revision);
        Assert.Equal(3, edited.History.Length);
        var diff = ObjectiveDiff.Compare(card, edited).Where(d => d.Field == "weight").ToArray();
        Assert.Equal(3, diff.Length);
        Assert.Equal(-9.0, diff.Single(d => d.Name == "at_cheese").Delta, 12);
        Assert.Throws<TelosInputException>(() => card.Apply("set", "nope=1"));
        Assert.Throws<TelosInputException>(() => card.Apply("set", "at_cheese=abc"));
    }

    [Fact]
    public void MonotoneCardRefusesAnEditAgainstItsDeclaredSign()
    {
        var card = new ObjectiveCard
        {
            Form = ObjectiveForm.Monotone,
            Features = ["at_cheese", "path_dist_to_cheese"],
            Weights = [2.0, -0.5],
            Signs = [1, -1],
        };
        card.Validate("card");
        var e = Assert.Throws<TelosInputException>(() => card.SetWeight("path_dist_to_cheese", 0.3));
        Assert.Contains("sign", e.Message);
        Assert.Equal(-0.25, card.ScaleWeight("path_dist_to_cheese", 0.5).Weight("path_dist_to_cheese"));
    }

    [Fact]
    public void PenaltyAndContributionsExplainTheValue()
    {
        var card = Sample().AddPenalty(new PenaltyTerm("path_dist_to_cheese", 1.0, 2.0));
        double[] x = [0, 1, 5];
        var value = new double[1];
        card.Compile().Evaluate(x, value);
        // 0.25 + 0.5·1 − 0.1·5 − 1·(5 − 2)
        Assert.Equal(0.25 + 0.5 - 0.5 - 3.0, value[0], 12);
        var contributions = card.Contributions(x);
        Assert.Equal(value[0] - card.Bias, contributions.Sum(c => c.Contribution), 12);
        Assert.StartsWith("penalty", contributions[0].Feature, StringComparison.Ordinal);
    }
}
