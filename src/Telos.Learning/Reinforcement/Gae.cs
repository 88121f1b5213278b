using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement;

/// <summary>Generalized advantage estimation (Schulman et al. 2016) over a [T, E] rollout, and advantage normalization.</summary>
public static class Gae
{
    /// <summary>
    /// Advantages and returns of a rollout, CleanRL's recursion
    /// δ_t = r'_t + γ·V_{t+1}·(1 − start_{t+1}) − V_t, A_t = δ_t + γλ·(1 − start_{t+1})·A_{t+1},
    /// returns = A + V, where r'_t = r_t + γ·V(final observation) when step t was truncated by the
    /// step limit: a truncated episode is bootstrapped as non-terminal from its own final
    /// observation, not from the next episode's first one (which start_{t+1} cuts off).
    /// </summary>
    /// <param name="rewards">[T, E] environment rewards.</param>
    /// <param name="values">[T, E] V(s_t) from the rollout.</param>
    /// <param name="starts">[T, E] 1 where observation t begins an episode (CleanRL's <c>dones</c>).</param>
    /// <param name="truncatedValues">[T, E] V(final observation) where step t was truncated, 0 elsewhere.</param>
    /// <param name="nextValue">[E] V of the observation after the rollout.</param>
    /// <param name="nextStart">[E] 1 where that observation begins an episode.</param>
    /// <param name="gamma">Discount γ.</param>
    /// <param name="lambda">GAE's λ.</param>
    /// <returns>Advantages and returns, each [T, E], in the caller's dispose scope, outside any graph.</returns>
    public static (Tensor Advantages, Tensor Returns) Compute(Tensor rewards, Tensor values, Tensor starts, Tensor truncatedValues, Tensor nextValue, Tensor nextStart,
        double gamma, double lambda)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(starts);
        ArgumentNullException.ThrowIfNull(truncatedValues);
        ArgumentNullException.ThrowIfNull(nextValue);
        ArgumentNullException.ThrowIfNull(nextStart);
        using var noGrad = no_grad();
        var steps = rewards.shape[0];
        var advantages = zeros_like(rewards);
        var bootstrapped = rewards.add(truncatedValues.mul(gamma));
        Tensor lastGaeLam = zeros_like(nextValue);
        for (var t = steps - 1; t >= 0; t--)
        {
            var (nextNonTerminal, nextValues) = t == steps - 1
                ? (nextStart.neg().add(1), nextValue)
                : (starts[t + 1].neg().add(1), values[t + 1]);
            var delta = bootstrapped[t].add(nextValues.mul(nextNonTerminal).mul(gamma)).sub(values[t]);
            lastGaeLam = delta.add(lastGaeLam.mul(nextNonTerminal).mul(gamma * lambda));
            advantages[t].copy_(lastGaeLam);
        }
        return (advantages, advantages.add(values));
    }

    /// <summary>(A − mean A) / (std A + 1e-8) over every element (the sample standard deviation, as CleanRL's <c>std()</c>).</summary>
    public static Tensor Normalize(Tensor advantages)
    {
        ArgumentNullException.ThrowIfNull(advantages);
        return advantages.sub(advantages.mean()).div(advantages.std().add(1e-8));
    }
}
