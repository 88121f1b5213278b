using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Learning.Tests.Objectives;

public sealed class ObjectiveFilesTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("telos-objective-");

    public void Dispose() => _folder.Delete(recursive: true);

    private static TransitionSample MazeData(bool observations) => TransitionSample.Collect<MazeState>(
        s => TaskDistributions.Maze("maze/test", size: 5).Level(s), levels: 3, stepsPerLevel: 60, seed: 12, uniformStarts: true, episodeLength: 8, observations: observations);

    [Theory]
    [InlineData(ObjectiveForm.Convex)]
    [InlineData(ObjectiveForm.Net)]
    public void NeuralFormsRoundTripThroughSafetensorsAndEvaluateIdentically(ObjectiveForm form)
    {
        var data = MazeData(form == ObjectiveForm.Net);
        var (card, module) = ObjectiveTrainer.FitRewards(form, data, "maze/test", new FormOptions(Hidden: [8]), new TrainingOptions(Steps: 20, Seed: 12));
        var path = Path.Combine(_folder.FullName, "o.json");
        ObjectiveFiles.Save(card, module, path);
        Assert.True(File.Exists(ObjectiveFiles.WeightsPath(path)));
        var level = TaskDistributions.Maze("maze/test", size: 5).Level(0);
        var states = Enumerable.Range(0, level.StateCount).Select(level.StateAt).ToArray();
        var before = new double[states.Length];
        new LoadedObjective(card, module, "memory").Evaluator(level).Evaluate(states, before);
        var after = new double[states.Length];
        ObjectiveFiles.Load(path).Evaluator(level).Evaluate(states, after);
        Assert.Equal(before, after);
        Assert.True(before.Distinct().Count() > 1, "a trained objective should not be constant over the level");
    }

    [Fact]
    public void TruncatedWeightFileIsOneClearLine()
    {
        var (card, module) = ObjectiveTrainer.FitRewards(ObjectiveForm.Convex, MazeData(false), "maze/test", new FormOptions(Hidden: [8]), new TrainingOptions(Steps: 5, Seed: 1));
        var path = Path.Combine(_folder.FullName, "c.json");
        ObjectiveFiles.Save(card, module, path);
        var weights = ObjectiveFiles.WeightsPath(path);
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<TelosInputException>(() => ObjectiveFiles.Load(path));
        Assert.Contains("c.safetensors", e.Message);
        Assert.DoesNotContain("\n", e.Message);

        // A file whose hash matches the card but whose content is not the network (the card's hash updated to match).
        File.WriteAllBytes(weights, "not a safetensors file"u8.ToArray());
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(weights)));
        var saved = ObjectiveCardFile.Load(path);
        ObjectiveCardFile.Save(saved with { WeightsSha256 = sha }, path);
        var unreadable = Assert.Throws<TelosInputException>(() => ObjectiveFiles.Load(path));
        Assert.Contains("cannot be read", unreadable.Message);
    }

    [Fact]
    public void MonotoneCardRebuildsItsModuleWithTheSameValues()
    {
        var card = new ObjectiveCard
        {
            Form = ObjectiveForm.Monotone,
            Features = ["at_cheese", "path_dist_to_cheese", "x"],
            Weights = [4.0, -0.25, 0.1],
            Signs = [1, -1, 0],
            Bias = 0.5,
        };
        var rebuilt = ObjectiveFiles.Build(card).ToCard(Provenance.Manual);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(card.Weights[i], rebuilt.Weights[i], 9);
        }
        Assert.Equal(0.5, rebuilt.Bias, 12);
    }
}
