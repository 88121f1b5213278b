using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Learning.Tests.Objectives;

/// <summary>Form and input set apart: the linear form over the one-hot observation, and the net over the named features.</summary>
public sealed class InputFormTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("telos-input-form-");

    public void Dispose() => _folder.Delete(recursive: true);

    private static TransitionSample Data(string distribution, int levels, bool observations, int seed = 4) => TransitionSample.Collect<MazeState>(
        s => TaskDistributions.Maze(distribution, size: 7).Level(s), levels, stepsPerLevel: 100, seed: (ulong)seed, uniformStarts: true, episodeLength: 10, observations: observations);

    [Fact]
    public void ALinearFormOverTheObservationReadsBackAsOneWeightPerChannelAndCell()
    {
        // maze/train: the cheese on the top-right corner, so arriving there is what the reward pays for.
        var (card, module) = ObjectiveTrainer.FitRewards(ObjectiveForm.Linear, Data("maze/train", 8, observations: true), "maze/train",
            new FormOptions(Input: ObjectiveInput.Observation), new TrainingOptions(Steps: 150, Seed: 4));
        Assert.Equal(ObjectiveForm.Net, card.Form);
        Assert.Equal("observation", card.Network!.Input);
        Assert.Empty(card.Network.Hidden);
        var net = Assert.IsType<NetObjectiveForm>(module);
        var (channels, bias) = net.ObservationWeights();
        Assert.Equal(3, channels.Length);
        var mouse = channels[Maze.MouseChannel];
        var best = Enumerable.Range(0, 49).MaxBy(i => mouse[i / 7, i % 7]);
        Assert.Equal((0, 6), (best / 7, best % 7)); // row 0 from the top, the last column: the corner

        // The maps are the module: V at any state is the bias plus the weight of every channel's hot cell.
        var level = TaskDistributions.Maze("maze/test", size: 7).Level(3);
        var states = Enumerable.Range(0, level.StateCount).Select(level.StateAt).ToArray();
        var values = new double[states.Length];
        LoadedObjective.Of(card, module).Evaluator(level).Evaluate(states, values);
        var path = Path.Combine(_folder.FullName, "linear-obs.json");
        ObjectiveFiles.Save(card, module, path);
        var reloaded = new double[states.Length];
        ObjectiveFiles.Load(path).Evaluator(level).Evaluate(states, reloaded);
        Assert.Equal(values, reloaded); // a card with no hidden layer saves and loads like any network card
        var observation = new float[level.ObservationShape.Size];
        for (var i = 0; i < states.Length; i++)
        {
            level.WriteObservation(states[i], observation);
            var sum = bias;
            for (var k = 0; k < observation.Length; k++)
            {
                sum += observation[k] * channels[k / 49][k % 49 / 7, k % 7];
            }
            Assert.Equal(sum, values[i], 9);
        }
    }

    [Fact]
    public void ANetOverNamedFeaturesReachesTheTrueRewardWhereTheFeaturesIdentifyIt()
    {
        // maze/test: the cheese anywhere, so at_cheese is not tied to at_corner and the features identify the reward (10 on the cheese).
        var (card, module) = ObjectiveTrainer.FitRewards(ObjectiveForm.Net, Data("maze/test", 12, observations: false), "maze/test",
            new FormOptions(Hidden: [16], Input: ObjectiveInput.Features), new TrainingOptions(Steps: 300, LearningRate: 0.01, Seed: 4));
        Assert.Equal("features", card.Network!.Input);
        Assert.Equal(ObjectiveInput.Features, module.Input);
        var path = Path.Combine(_folder.FullName, "net-feat.json");
        ObjectiveFiles.Save(card, module, path);
        var loaded = ObjectiveFiles.Load(path);
        var distribution = TaskDistributions.Maze("maze/test", size: 7);
        foreach (var seed in Enumerable.Range(100, 10))
        {
            var level = distribution.Level(seed);
            var states = Enumerable.Range(0, level.StateCount).Select(level.StateAt).ToArray();
            var values = new double[states.Length];
            loaded.Evaluator(level).Evaluate(states, values);
            var inMemory = new double[states.Length];
            LoadedObjective.Of(card, module).Evaluator(level).Evaluate(states, inMemory);
            Assert.Equal(inMemory, values); // the standardization and weights survive the round trip
            var best = states[Array.IndexOf(values, values.Max())];
            Assert.Equal(level.Cheese, best.Cell);
        }
    }

    [Fact]
    public void FormsOtherThanLinearAndNetRefuseTheObservation()
    {
        var e = Assert.Throws<TelosInputException>(() => new FormOptions(Input: ObjectiveInput.Observation).InputOf(ObjectiveForm.Monotone));
        Assert.Contains("'monotone'", e.Message);
        Assert.Equal(ObjectiveInput.Observation, new FormOptions().InputOf(ObjectiveForm.Net));
        Assert.Equal(ObjectiveInput.Features, new FormOptions().InputOf(ObjectiveForm.Linear));
    }

    [Fact]
    public void TheMeanAbsoluteGradientOfALinearFormIsItsWeights()
    {
        var form = new LinearObjectiveForm(["a", "b", "c"], [2.0, -3.0, 0.0], 1.0);
        Assert.Equal([2.0, 3.0, 0.0], form.MeanAbsoluteGradient([1, 2, 3, 4, 5, 6], 3));
        Assert.Null(form.Weight.grad); // the parameters' gradients are left untouched
    }

    [Fact]
    public void AnInitSeedChangesTheFitButNotTheData()
    {
        ObjectiveCard Fit(long? init) => ObjectiveTraining.Train(new ObjectiveTrainingRequest(ObjectiveSignal.Reward, ObjectiveForm.Net, "maze/train", DistributionParameters.Of(("size", 7)),
            Levels: 3, SamplesPerLevel: 50, Seed: 5, Steps: 5, FormOptions: new FormOptions(Hidden: [4], Input: ObjectiveInput.Features), InitSeed: init)).Card;
        var own = Fit(null);
        var same = Fit(5);
        var other = Fit(6);
        Assert.Equal(own.Provenance.DataHash, other.Provenance.DataHash);
        Assert.Equal(own.Provenance.Fit["mse"], same.Provenance.Fit["mse"]);
        Assert.NotEqual(own.Provenance.Fit["mse"], other.Provenance.Fit["mse"]);
    }
}
