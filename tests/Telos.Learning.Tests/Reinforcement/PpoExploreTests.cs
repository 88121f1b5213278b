using System.Diagnostics;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Xunit.Abstractions;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class PpoExploreTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(5, 20, 16, 32, 8)]
    public void Explore(int size, int stepLimit, int envs, int steps, int iterations)
    {
        var settings = new PpoSettings { NumEnvs = envs, NumSteps = steps, TotalTimesteps = envs * steps * iterations, NumMinibatches = 4, LearningRate = 2.5e-3, ClipCoef = 0.2 };
        var levels = PpoFixtures.Train(size, stepLimit);
        var (policy, trainer) = PpoFixtures.Trainer(levels, settings, new PolicyOptions(ConvChannels: 8, Features: 64, LstmSize: 64));
        var before = PpoFixtures.Evaluate(policy, levels, size, stepLimit, 200);
        output.WriteLine($"before {before.Success} return {before.MeanReturn}");
        var clock = Stopwatch.StartNew();
        foreach (var m in trainer.Train())
        {
            output.WriteLine($"{m.Iteration} {m.GlobalStep} eps {m.Episodes} " + string.Join(" ", m.Scalars.Select(kv => $"{kv.Key}={kv.Value:G4}")));
        }
        output.WriteLine($"train {clock.Elapsed.TotalSeconds:F1}s");
        var after = PpoFixtures.Evaluate(policy, levels, size, stepLimit, 200);
        output.WriteLine($"after {after.Success} return {after.MeanReturn}");
    }
}
