using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class RecurrentPpoTests
{
    internal static readonly PolicyOptions Small = new(ConvChannels: 8, Features: 64, LstmSize: 64);

    internal static PpoSettings Tiny(int iterations, ulong seed = 1) => new()
    {
        Seed = seed, NumEnvs = 16, NumSteps = 32, TotalTimesteps = 16 * 32 * iterations, NumMinibatches = 4, LearningRate = 2.5e-3, ClipCoef = 0.2,
    };

    /// <summary>Same settings and seed → the same metrics, iteration by iteration (all but wall-clock SPS); another seed → other metrics; on either LSTM, update and encoder kernel.</summary>
    [Theory]
    [InlineData(LstmKernel.LibTorch, UpdateKernel.LibTorch)]
    [InlineData(LstmKernel.Fused, UpdateKernel.LibTorch)]
    [InlineData(LstmKernel.Fused, UpdateKernel.Fused)]
    [InlineData(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused)]
    public void SameSeedGivesSameMetrics(LstmKernel kernel, UpdateKernel update, EncoderKernel encoder = EncoderKernel.LibTorch)
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 30);
        IReadOnlyList<PpoMetrics> Run(ulong seed)
        {
            var (policy, trainer) = PpoFixtures.Trainer(levels, Tiny(3, seed) with { LstmKernel = kernel, UpdateKernel = update, EncoderKernel = encoder }, Small);
            using (policy)
            using (trainer)
            {
                return trainer.Train();
            }
        }
        static string[] Lines(IReadOnlyList<PpoMetrics> run) =>
            run.SelectMany(m => m.Scalars.Where(kv => kv.Key != PpoMetricKeys.Sps).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => FormattableString.Invariant($"{m.Iteration} {kv.Key} {kv.Value:R}"))).ToArray();

        var first = Lines(Run(7));
        var again = Lines(Run(7));
        var other = Lines(Run(8));

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Contains(first, line => line.StartsWith("3 " + PpoMetricKeys.ApproxKl + " ", StringComparison.Ordinal));
    }

    /// <summary>
    /// The update recomputes each environment's sequence from the state the rollout started in: with one
    /// epoch of one minibatch (metrics taken before the only gradient step), the recomputed log-probabilities
    /// equal the rollout's, so approx_kl and clipfrac are 0 — also in the second iteration, whose rollout
    /// starts from a non-zero state after the first (large) update. On either LSTM, update and encoder kernel.
    /// </summary>
    [Theory]
    [InlineData(LstmKernel.LibTorch, UpdateKernel.LibTorch)]
    [InlineData(LstmKernel.Fused, UpdateKernel.LibTorch)]
    [InlineData(LstmKernel.Fused, UpdateKernel.Fused)]
    [InlineData(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused)]
    public void UpdateRecomputesTheRolloutsStates(LstmKernel kernel, UpdateKernel update, EncoderKernel encoder = EncoderKernel.LibTorch)
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var settings = Tiny(2) with { NumMinibatches = 1, UpdateEpochs = 1, LearningRate = 0.05, LstmKernel = kernel, UpdateKernel = update, EncoderKernel = encoder };
        var (policy, trainer) = PpoFixtures.Trainer(levels, settings, Small);
        using (policy)
        using (trainer)
        {
            var metrics = trainer.Train();
            foreach (var m in metrics)
            {
                Assert.InRange(m.Scalars[PpoMetricKeys.ApproxKl], -1e-7, 1e-7);
                Assert.Equal(0, m.Scalars[PpoMetricKeys.ClipFrac]);
            }
        }
    }

    /// <summary>With a 5-step limit and 12-step rollouts, every environment's episodes start at steps 0, 5 and 10 or sooner (the cheese ends one early), so the LSTM state is reset at least every 5 steps.</summary>
    [Fact]
    public void EpisodeEndsMarkTheNextObservationAsAStart()
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 5);
        var settings = Tiny(1) with { NumSteps = 12, TotalTimesteps = 16 * 12 };
        var (policy, trainer) = PpoFixtures.Trainer(levels, settings, Small);
        using (policy)
        using (trainer)
        {
            trainer.Train();
            var starts = trainer.Starts.data<float>().ToArray();
            for (var e = 0; e < settings.NumEnvs; e++)
            {
                Assert.Equal(1f, starts[e]);
                var last = 0;
                for (var t = 1; t < settings.NumSteps; t++)
                {
                    if (starts[t * settings.NumEnvs + e] == 1f)
                    {
                        Assert.True(t - last <= 5, $"env {e}: episode from {last} to {t} is longer than the step limit");
                        last = t;
                    }
                }
                Assert.True(settings.NumSteps - last <= 5, $"env {e}: no start after step {last}");
            }
        }
    }

    /// <summary>The feed-forward control goes through the same trainer and agent: its empty state survives the rollout and the agent acts with it.</summary>
    [Fact]
    public void CnnControlTrainsAndActsThroughTheSameInterface()
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var (policy, trainer) = PpoFixtures.Trainer(levels, Tiny(2), Small with { Kind = PolicyKind.Cnn });
        using (policy)
        using (trainer)
        {
            var metrics = trainer.Train();
            var summary = PpoFixtures.Evaluate(policy, levels, 5, 10, 20);

            Assert.IsType<CnnActorCritic>(policy);
            Assert.Equal(0, policy.StateSize);
            Assert.Equal(2, metrics.Count);
            Assert.Equal(20, summary.Levels);
            Assert.Equal(Telos.Agents.AgentKind.LearnedOptimizer, summary.Kind);
        }
    }

    /// <summary>After a rollout the trainer holds the environments' current observations: the ones the bootstrap value V(s_T) and the next rollout's first step are computed on.</summary>
    [Fact]
    public void NextObservationIsTheEnvironmentsCurrentOne()
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 10);
        var (policy, trainer) = PpoFixtures.Trainer(levels, Tiny(2), Small);
        using (policy)
        using (trainer)
        {
            Assert.Equal(trainer.Environments.Observations.ToArray(), trainer.NextObservation.data<float>().ToArray());
            trainer.Step();
            Assert.Equal(trainer.Environments.Observations.ToArray(), trainer.NextObservation.data<float>().ToArray());
        }
    }
}

public sealed class RecurrentPpoLearningTests
{
    private static PpoSettings Tiny(int iterations, ulong seed = 1) => RecurrentPpoTests.Tiny(iterations, seed);

    private static PolicyOptions Small => RecurrentPpoTests.Small;

    /// <summary>
    /// On 5×5 maze/train (cheese in the corner, 30-step limit) the untrained greedy policy never
    /// reaches the cheese; after 30 rollouts (30,720 steps) it does on a clear share of held-out levels (83 of 200 when this test was written).
    /// </summary>
    [Fact]
    public void GreedySuccessRisesWithTraining()
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 30);
        var settings = Tiny(1) with { NumSteps = 64, UpdateEpochs = 8, TotalTimesteps = 16 * 64 * 30 };
        var (policy, trainer) = PpoFixtures.Trainer(levels, settings, Small);
        using (policy)
        using (trainer)
        {
            var before = PpoFixtures.Evaluate(policy, levels, 5, 30, 200);
            var metrics = trainer.Train();
            var after = PpoFixtures.Evaluate(policy, levels, 5, 30, 200);

            Assert.True(before.Success.Count <= 10, $"untrained success {before.Success}");
            Assert.True(after.Success.Count >= 40, $"trained success {after.Success} (untrained {before.Success})");
            Assert.Equal(30, metrics.Count);
            Assert.Equal(30L * 16 * 64, trainer.GlobalStep);
        }
    }
}
