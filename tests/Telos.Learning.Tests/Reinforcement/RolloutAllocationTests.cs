using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class RolloutAllocationTests
{
    /// <summary>
    /// A rollout step allocates, on the managed heap, no more than the policy's own forward pass
    /// does plus a small bound for the handles of the sampling ops (softmax, multinomial,
    /// log_softmax, gather: ~50 bytes each) and the step's dispose scope: observations, starts,
    /// rewards and actions go through preallocated rows, the state is updated in place. The step
    /// limit (1000) is longer than the measured rollouts, so no truncation bootstrap (one extra
    /// forward per truncated episode) runs; episodes do end at the cheese and auto-reset.
    /// When this test was written a step allocated 4,293 bytes against the forward's 4,048 (the
    /// rollout before preallocated rows and the in-place state: 7,429, failing here). The same holds on
    /// either LSTM kernel and either encoder kernel.
    /// </summary>
    [Theory]
    [InlineData(LstmKernel.LibTorch)]
    [InlineData(LstmKernel.Fused)]
    [InlineData(LstmKernel.Fused, EncoderKernel.Fused)]
    public void RolloutStepAllocatesLittleBeyondThePolicysForward(LstmKernel kernel, EncoderKernel encoder = EncoderKernel.LibTorch)
    {
        const int Envs = 16;
        const int Steps = 32;
        const int Rollouts = 4;
        var levels = PpoFixtures.Train(size: 5, stepLimit: 1000);
        var settings = new PpoSettings { Seed = 1, NumEnvs = Envs, NumSteps = Steps, TotalTimesteps = Envs * Steps * 10, NumMinibatches = 4, LstmKernel = kernel, EncoderKernel = encoder };
        var (policy, trainer) = PpoFixtures.Trainer(levels, settings, new PolicyOptions(ConvChannels: 8, Features: 64, LstmSize: 64));
        using (policy)
        using (trainer)
        using (var observation = zeros([1, Envs, 3, 5, 5]))
        using (var starts = zeros(1, Envs))
        {
            Assert.Equal(kernel, policy.LstmKernel);
            Assert.Equal(encoder, policy.EncoderKernel);
            var state = policy.InitialState(Envs);
            trainer.CollectRollout(); // warm-up: first-call allocations of TorchSharp and the JIT
            var episodes = 0;
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Rollouts; i++)
            {
                episodes += trainer.CollectRollout();
            }
            var perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)(Rollouts * Steps);

            void Forward()
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                policy.Unroll(observation, state, starts);
            }
            Forward();
            before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Rollouts * Steps; i++)
            {
                Forward();
            }
            var forward = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)(Rollouts * Steps);
            state.Dispose();

            Assert.True(episodes > 0, "the measured rollouts must include episode ends (auto-resets)");
            Assert.True(forward > 0, "the forward pass is measured");
            Assert.True(perStep - forward <= 512, $"a rollout step allocates {perStep:F0} bytes, the policy's forward {forward:F0}");
        }
    }
}
