using Telos.Environments;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement.Inspection;

/// <summary>
/// Goal vectors: the mean activation difference, at one hook point, between paired observations
/// that differ only in the goal (Turner et al.'s cheese vector: the same maze with and without the
/// cheese). Steering with −1 × the cheese vector (<see cref="ActivationHooks.Steer"/>) is their
/// "subtract the cheese" intervention.
/// </summary>
public static class GoalVector
{
    /// <summary>
    /// mean_i a(<paramref name="with"/>[i]) − mean_i a(<paramref name="without"/>[i]) at
    /// <paramref name="point"/>, each observation taken as the first of an episode (zero state),
    /// a being the point's last firing; on the policy without its hooks (restored afterwards).
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="point">One of its hook points.</param>
    /// <param name="with">[N, C, H, W] observations with the goal.</param>
    /// <param name="without">[M, C, H, W] the same without it (usually M = N, pair by pair).</param>
    /// <returns>The vector, the point's <see cref="HookPoint.Shape"/>, in the caller's dispose scope.</returns>
    /// <exception cref="TelosInputException">An unknown point.</exception>
    public static Tensor MeanDifference(ActorCritic policy, string point, Tensor with, Tensor without)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(with);
        ArgumentNullException.ThrowIfNull(without);
        return MeanActivation(policy, point, with).sub(MeanActivation(policy, point, without));
    }

    /// <summary>The mean over <paramref name="observations"/> [N, C, H, W] of <paramref name="point"/>'s activation, each as an episode's first observation.</summary>
    /// <exception cref="TelosInputException">An unknown point.</exception>
    public static Tensor MeanActivation(ActorCritic policy, string point, Tensor observations)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(observations);
        var previous = policy.Hooks;
        using var hooks = new ActivationHooks(policy).Record(point);
        policy.Hooks = hooks;
        try
        {
            using var noGrad = no_grad();
            var count = observations.shape[0];
            policy.Unroll(observations.unsqueeze(0), policy.InitialState(count), ones(1, count));
            return hooks.Recorded(point)!.mean([0]);
        }
        finally
        {
            policy.Hooks = previous;
        }
    }

    /// <summary>
    /// Turner et al.'s cheese vector at <paramref name="point"/>: <see cref="MeanDifference"/> over the
    /// <see cref="CheesePairs"/> of <paramref name="levels"/> (their start observations with and without the cheese).
    /// </summary>
    /// <returns>The vector, the point's <see cref="HookPoint.Shape"/>, in the caller's dispose scope.</returns>
    /// <exception cref="TelosInputException">An unknown point.</exception>
    /// <exception cref="ArgumentException">No levels, or levels of different sizes.</exception>
    public static Tensor CheeseVector(ActorCritic policy, string point, IReadOnlyList<Maze> levels)
    {
        var (with, without) = CheesePairs(levels);
        return MeanDifference(policy, point, with, without);
    }

    /// <summary>
    /// Each maze's observation at <paramref name="state"/> (default: its start) with the cheese and
    /// the same with the cheese channel cleared — the pairs of the cheese vector.
    /// </summary>
    /// <returns>(With, Without), each [N, 3, S, S], in the caller's dispose scope.</returns>
    /// <exception cref="ArgumentException">No levels, or levels of different sizes.</exception>
    public static (Tensor With, Tensor Without) CheesePairs(IReadOnlyList<Maze> levels, MazeState? state = null)
    {
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Count == 0 || levels.Any(l => l.Size != levels[0].Size))
        {
            throw new ArgumentException("cheese pairs need at least one level, all of one size", nameof(levels));
        }
        var shape = levels[0].ObservationShape;
        var with = new float[levels.Count * shape.Size];
        for (var i = 0; i < levels.Count; i++)
        {
            levels[i].WriteObservation(state ?? levels[i].Initial, with.AsSpan(i * shape.Size, shape.Size));
        }
        var withCheese = tensor(with).view(levels.Count, shape.Channels, shape.Height, shape.Width);
        var withoutCheese = withCheese.clone();
        withoutCheese.select(1, Maze.CheeseChannel).zero_();
        return (withCheese, withoutCheese);
    }
}
