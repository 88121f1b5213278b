using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class GaeTests
{
    private static float[] Column(Tensor t, int env) => t.select(1, env).contiguous().data<float>().ToArray();

    /// <summary>
    /// γ = λ = 0.5, T = 3, two environments with the same rewards [1, 0, 2] and values [0.5, 1, 2];
    /// in both the episode ends at step 1 (observation 2 starts a new one). Environment 0 was
    /// truncated there with V(final observation) = 4; environment 1 terminated. By hand:
    /// t = 2: δ = 2 + 0.5·3 − 2 = 1.5, A = 1.5 (both).
    /// t = 1: env 0 δ = 0 + 0.5·4 − 1 = 1, A = 1; env 1 δ = 0 − 1 = −1, A = −1 (no bootstrap through the new episode's observation).
    /// t = 0: δ = 1 + 0.5·1 − 0.5 = 1; env 0 A = 1 + 0.25·1 = 1.25; env 1 A = 1 + 0.25·(−1) = 0.75.
    /// </summary>
    [Fact]
    public void MatchesHandComputedCaseWithTruncationBootstrappedAsNonTerminal()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var rewards = tensor(new float[] { 1, 1, 0, 0, 2, 2 }).view(3, 2);
        var values = tensor(new float[] { 0.5f, 0.5f, 1, 1, 2, 2 }).view(3, 2);
        var starts = tensor(new float[] { 1, 1, 0, 0, 1, 1 }).view(3, 2);
        var truncatedValues = tensor(new float[] { 0, 0, 4, 0, 0, 0 }).view(3, 2);
        var nextValue = tensor(new float[] { 3, 3 });
        var nextStart = tensor(new float[] { 0, 0 });

        var (advantages, returns) = Gae.Compute(rewards, values, starts, truncatedValues, nextValue, nextStart, gamma: 0.5, lambda: 0.5);

        Assert.Equal([1.25f, 1f, 1.5f], Column(advantages, 0));
        Assert.Equal([0.75f, -1f, 1.5f], Column(advantages, 1));
        Assert.Equal([1.75f, 2f, 3.5f], Column(returns, 0));
        Assert.Equal([1.25f, 0f, 3.5f], Column(returns, 1));
    }

    /// <summary>An episode that ends after the rollout's last step (nextStart = 1) is not bootstrapped from the next value: A_{T−1} = r − V.</summary>
    [Fact]
    public void DoesNotBootstrapAcrossAnEpisodeEndAtTheRolloutBoundary()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var (advantages, _) = Gae.Compute(tensor(new float[] { 2 }).view(1, 1), tensor(new float[] { 0.5f }).view(1, 1), ones(1, 1), zeros(1, 1),
            tensor(new float[] { 100 }), ones(1), gamma: 0.9, lambda: 0.95);
        Assert.Equal(1.5f, advantages[0, 0].item<float>());
    }

    /// <summary>[1, 2, 3, 4]: mean 2.5, sample standard deviation √(5/3).</summary>
    [Fact]
    public void NormalizesBySampleStandardDeviation()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var normalized = Gae.Normalize(tensor(new float[] { 1, 2, 3, 4 })).data<float>().ToArray();
        var std = Math.Sqrt(5.0 / 3.0);
        double[] expected = [-1.5 / std, -0.5 / std, 0.5 / std, 1.5 / std];
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i], normalized[i], 5);
        }
    }
}
