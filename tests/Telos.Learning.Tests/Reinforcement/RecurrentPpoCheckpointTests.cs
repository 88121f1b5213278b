using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class RecurrentPpoCheckpointTests
{
    private static readonly PolicyOptions Small = new(ConvChannels: 4, Features: 16, LstmSize: 8);

    private static PpoSettings Settings(int iterations, double learningRate = 2.5e-3) => new()
    {
        Seed = 5, NumEnvs = 4, NumSteps = 8, TotalTimesteps = 4 * 8 * iterations, NumMinibatches = 2, UpdateEpochs = 2, LearningRate = learningRate,
    };

    private static string[] Lines(IEnumerable<PpoMetrics> metrics) =>
        [.. metrics.SelectMany(m => m.Scalars.Where(kv => kv.Key != PpoMetricKeys.Sps).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => FormattableString.Invariant($"{m.Iteration} {m.GlobalStep} {kv.Key} {kv.Value:R}")))];

    /// <summary>
    /// Two iterations, a checkpoint, then a fresh trainer restored from it runs the last two: the same
    /// metrics and weights as four iterations straight, for the LSTM and the DRC (carried state) and the CNN (no state).
    /// </summary>
    [Theory]
    [InlineData(PolicyKind.Lstm)]
    [InlineData(PolicyKind.Cnn)]
    [InlineData(PolicyKind.Drc)]
    public void ARestoredTrainerContinuesAsTheUninterruptedOne(PolicyKind kind)
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var options = Small with { Kind = kind, DrcLayers = 2, DrcTicks = 2, DrcChannels = 4 };
        var (straightPolicy, straight) = PpoFixtures.Trainer(levels, Settings(4), options);
        var (firstPolicy, first) = PpoFixtures.Trainer(levels, Settings(4), options);
        var (secondPolicy, second) = PpoFixtures.Trainer(levels, Settings(4), options);
        using (straightPolicy)
        using (straight)
        using (firstPolicy)
        using (first)
        using (secondPolicy)
        using (second)
        {
            var expected = Lines(straight.Train());
            var head = new List<PpoMetrics> { first.Step(), first.Step() };
            using (var scope = NewDisposeScope())
            {
                var (tensors, progress) = first.CaptureCheckpoint();
                // A round trip through safetensors bytes, as the run store does.
                var (bytes, _) = Telos.Learning.Runs.SafetensorsBytes.Encode(tensors);
                var decoded = Telos.Learning.Runs.SafetensorsBytes.Decode(bytes, "test");
                second.RestoreCheckpoint(decoded, progress, "test");
                foreach (var t in decoded.Values)
                {
                    t.Dispose();
                }
            }
            Assert.Equal(2, second.Iteration);
            var resumed = Lines(head.Concat(second.Train()));

            Assert.Equal(expected, resumed);
            Assert.All(straightPolicy.named_parameters().Zip(secondPolicy.named_parameters()), p => Assert.True(p.First.parameter.eq(p.Second.parameter).all().item<bool>(), p.First.name));
        }
    }

    /// <summary>A checkpoint of a policy of other sizes is refused with one line naming the tensor, before anything is copied.</summary>
    [Fact]
    public void ACheckpointOfAnotherShapeIsRefused()
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var (smallPolicy, small) = PpoFixtures.Trainer(levels, Settings(2), Small);
        var (widePolicy, wide) = PpoFixtures.Trainer(levels, Settings(2), Small with { LstmSize = 12 });
        using (smallPolicy)
        using (small)
        using (widePolicy)
        using (wide)
        using (NewDisposeScope())
        {
            var before = widePolicy.named_parameters().Select(p => p.parameter.clone()).ToArray();
            var (tensors, progress) = small.CaptureCheckpoint();
            var error = Assert.Throws<TelosInputException>(() => wide.RestoreCheckpoint(tensors, progress, "ck.safetensors"));
            Assert.StartsWith("ck.safetensors: tensor 'policy.actor.weight' is Float32 [4, 8]; expected Float32 [4, 12]", error.Message, StringComparison.Ordinal);
            Assert.All(widePolicy.named_parameters().Zip(before), p => Assert.True(p.First.parameter.eq(p.Second).all().item<bool>()));
        }
    }

    /// <summary>
    /// An infinite value head makes the first loss NaN: training stops at iteration 1, epoch 1, minibatch 1,
    /// before the optimizer steps, so no weight and no Adam moment changes.
    /// </summary>
    [Fact]
    public void ANonFiniteLossStopsBeforeTheUpdateAndNamesIt()
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var (policy, trainer) = PpoFixtures.Trainer(levels, Settings(3), Small);
        using (policy)
        using (trainer)
        using (NewDisposeScope())
        {
            using (no_grad())
            {
                policy.named_parameters().Single(p => p.name == "critic.bias").parameter.copy_(tensor(new[] { float.PositiveInfinity }));
            }
            var before = policy.named_parameters().Select(p => p.parameter.clone()).ToArray();

            var error = Assert.Throws<PpoDivergedException>(() => trainer.Train());

            Assert.Equal((1, 1, 1), (error.Iteration, error.Epoch, error.Minibatch));
            Assert.Equal("loss is NaN at iteration 1, epoch 1, minibatch 1; training stopped before that update", error.Message);
            Assert.All(policy.named_parameters().Zip(before), p => Assert.True(p.First.parameter.eq(p.Second).all().item<bool>(), p.First.name));
            var (_, progress) = trainer.CaptureCheckpoint();
            Assert.All(progress.AdamSteps, s => Assert.Equal(0, s));
        }
    }
}
