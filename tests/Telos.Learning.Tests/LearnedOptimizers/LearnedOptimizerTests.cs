using Telos.Learning.LearnedOptimizers;
using Telos.Learning.Native;

namespace Telos.Learning.Tests.LearnedOptimizers;

public sealed class LearnedOptimizerTests
{
    /// <summary>
    /// The meta-trained LSTM fits the weights of a linear objective over named features to target
    /// values — an objective's weights are just another parameter vector to it.
    /// </summary>
    [Fact]
    public void TrainedOptimizerFitsObjectiveWeightsAndSurvivesSaveLoad()
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.Seed(21);
        var network = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 21);
        var options = new MetaTrainingOptions(Horizon: 20, Unroll: 5, ProblemsPerBatch: 32, MetaLearningRate: 0.01, MaxProblems: 8, ValidateEvery: 4, ValidationProblems: 32);
        using (var trainer = new MetaTrainer(network, new QuadraticTask(Dimensions: 4), options, 1))
        {
            trainer.Train();
            MetaTrainer.CopyWeights(trainer.Best, network);
        }
        var path = Path.Combine(Path.GetTempPath(), $"telos-l2l-{Guid.NewGuid():N}.bin");
        using (var trained = new LearnedOptimizer(network))
        {
            trained.Save(path);
        }
        try
        {
            using var optimizer = LearnedOptimizer.Load(path);
            // Objective r(s) = w · φ(s) over 4 features; regress it onto 6 labelled states.
            double[,] features = { { 1, 0, 0.5, 0 }, { 0, 1, 0, 1 }, { 1, 1, 0, 0 }, { 0, 0, 1, 1 }, { 0.5, 0.5, 0.5, 0.5 }, { 1, 0, 0, 1 } };
            double[] targets = [1, -1, 0.5, 0, 0.2, 0.4];
            var weights = new float[4];
            var gradient = new float[4];
            double Loss()
            {
                double total = 0;
                Array.Clear(gradient);
                for (var s = 0; s < targets.Length; s++)
                {
                    double r = 0;
                    for (var k = 0; k < 4; k++)
                    {
                        r += weights[k] * features[s, k];
                    }
                    var e = r - targets[s];
                    total += e * e;
                    for (var k = 0; k < 4; k++)
                    {
                        gradient[k] += (float)(2 * e * features[s, k]);
                    }
                }
                return total;
            }
            var initial = Loss();
            for (var step = 0; step < 20; step++)
            {
                Loss();
                optimizer.Step(weights, gradient);
            }
            var final = Loss();
            Assert.True(final < 0.3 * initial, $"objective-weight regression loss {initial} -> {final}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LoadRejectsOtherFiles()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a model");
            var e = Assert.Throws<TelosInputException>(() => LearnedOptimizer.Load(path));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
