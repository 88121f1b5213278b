using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class RecurrentPpoCheckpointTests
{
    private static readonly PolicyOptions Small = new(ConvChannels: 4, Features: 16, LstmSize: 8);

    private static PpoSettings Settings(int iterations, double learningRate = 2.5e-3, UpdateKernel update = UpdateKernel.LibTorch) => new()
    {
        Seed = 5, NumEnvs = 4, NumSteps = 8, TotalTimesteps = 4 * 8 * iterations, NumMinibatches = 2, UpdateEpochs = 2, LearningRate = learningRate,
        UpdateKernel = update,
    };

    private static string[] Lines(IEnumerable<PpoMetrics> metrics) =>
        [.. metrics.SelectMany(m => m.Scalars.Where(kv => kv.Key != PpoMetricKeys.Sps).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => FormattableString.Invariant($"{m.Iteration} {m.GlobalStep} {kv.Key} {kv.Value:R}")))];

    /// <summary>
    /// Two iterations, a checkpoint, then a fresh trainer restored from it runs the last two: the same
    /// metrics and weights as four iterations straight, for the LSTM and the DRC (carried state) and the CNN (no state),
    /// and for the LSTM on the fused update (whose Adam moments the checkpoint carries the same way).
    /// </summary>
    [Theory]
    [InlineData(PolicyKind.Lstm, UpdateKernel.LibTorch)]
    [InlineData(PolicyKind.Cnn, UpdateKernel.LibTorch)]
    [InlineData(PolicyKind.Drc, UpdateKernel.LibTorch)]
    [InlineData(PolicyKind.Lstm, UpdateKernel.Fused)]
    public void ARestoredTrainerContinuesAsTheUninterruptedOne(PolicyKind kind, UpdateKernel update)
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var options = Small with { Kind = kind, DrcLayers = 2, DrcTicks = 2, DrcChannels = 4 };
        var (straightPolicy, straight) = PpoFixtures.Trainer(levels, Settings(4, update: update), options);
        var (firstPolicy, first) = PpoFixtures.Trainer(levels, Settings(4, update: update), options);
        var (secondPolicy, second) = PpoFixtures.Trainer(levels, Settings(4, update: update), options);
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

    /// <summary>
    /// A checkpoint written on one update kernel restores on the other (the Adam moments have the same
    /// names and shapes): what the restored trainer would write again is bit for bit what was read, weights
    /// and moments and step counts, and it trains on from there.
    /// </summary>
    [Theory]
    [InlineData(UpdateKernel.LibTorch, UpdateKernel.Fused)]
    [InlineData(UpdateKernel.Fused, UpdateKernel.LibTorch)]
    public void ACheckpointRestoresOnTheOtherUpdateKernel(UpdateKernel written, UpdateKernel read)
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var (writerPolicy, writer) = PpoFixtures.Trainer(levels, Settings(3, update: written), Small);
        var (readerPolicy, reader) = PpoFixtures.Trainer(levels, Settings(3, update: read), Small);
        using (writerPolicy)
        using (writer)
        using (readerPolicy)
        using (reader)
        using (NewDisposeScope())
        {
            writer.Step();
            writer.Step();
            var (tensors, progress) = writer.CaptureCheckpoint();
            reader.RestoreCheckpoint(tensors, progress, "ck.safetensors");
            var (again, againProgress) = reader.CaptureCheckpoint();

            Assert.Equal(progress.AdamSteps, againProgress.AdamSteps);
            Assert.All(progress.AdamSteps, s => Assert.Equal(8, s)); // 2 iterations × 2 epochs × 2 minibatches
            Assert.Contains("adam.0.exp_avg_sq", tensors.Keys);
            Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), again.Keys.Order(StringComparer.Ordinal));
            Assert.All(tensors, kv => Assert.True(kv.Value.eq(again[kv.Key]).all().item<bool>(), kv.Key));
            Assert.True(reader.Step().Scalars[PpoMetricKeys.ApproxKl] is var kl && double.IsFinite(kl));
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
    /// before the optimizer steps, so no weight and no Adam moment changes; on either update kernel.
    /// </summary>
    [Theory]
    [InlineData(UpdateKernel.LibTorch)]
    [InlineData(UpdateKernel.Fused)]
    public void ANonFiniteLossStopsBeforeTheUpdateAndNamesIt(UpdateKernel update)
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var (policy, trainer) = PpoFixtures.Trainer(levels, Settings(3, update: update), Small);
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
