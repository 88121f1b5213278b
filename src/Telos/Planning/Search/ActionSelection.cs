using System.Runtime.CompilerServices;

namespace Telos.Planning.Search;

/// <summary>
/// How each policy scores one child when it selects (mctx's <c>action_selection.py</c>): the
/// reference rules, one scalar function each. <see cref="BatchedSearch{TEmbedding}"/>'s generic
/// selection paths loop over these functions and take the argmax; its fused and vectorised paths
/// compute the same operations in the same order, and tests check they choose what these choose.
/// Q̃ is the score of the policy's <see cref="IQTransform"/> for the child.
/// </summary>
public static class ActionSelection
{
    /// <summary>mctx's <c>low_logit</c> (<c>seq_halving.score_considered</c>): the floor of a root score in Gumbel MuZero.</summary>
    public const float LowLogit = -1e9f;

    /// <summary>
    /// UCT (<see cref="UctPolicy"/>): Q̃(a) + c·√(ln N / n(a)); +∞ for a legal unvisited child (so
    /// those come first), −∞ for an illegal one.
    /// </summary>
    /// <param name="qTilde">Q̃(a), the Q-transform's score of the child.</param>
    /// <param name="childVisits">n(a).</param>
    /// <param name="legal">Whether a is legal at the node.</param>
    /// <param name="logNodeVisits">ln N, N the node's visits (≥ 1 once the node exists).</param>
    /// <param name="exploration">c.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float UctScore(float qTilde, int childVisits, bool legal, float logNodeVisits, float exploration) =>
        !legal ? float.NegativeInfinity
        : childVisits == 0 ? float.PositiveInfinity
        : qTilde + exploration * MathF.Sqrt(logNodeVisits / childVisits);

    /// <summary>
    /// PUCT's exploration weight at a node with <paramref name="nodeVisits"/> visits N (mctx
    /// <c>muzero_action_selection</c>): √N·(pb_c_init + ln((N + pb_c_base + 1)/pb_c_base)). 0 when N = 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float PuctExploration(int nodeVisits, float pbCInit, float pbCBase)
    {
        float n = nodeVisits;
        return MathF.Sqrt(n) * (pbCInit + MathF.Log((n + pbCBase + 1f) / pbCBase));
    }

    /// <summary>
    /// PUCT (<see cref="PuctPolicy"/>): Q̃(a) + E·P(a)/(1 + n(a)), E = <see cref="PuctExploration"/>;
    /// −∞ for an illegal child, whose masked prior is −∞ (E &gt; 0). mctx adds 1e-7·U noise for ties;
    /// the search breaks exact ties uniformly instead.
    /// </summary>
    /// <param name="qTilde">Q̃(a); 0 for an unvisited child under min-max transforms.</param>
    /// <param name="maskedPrior">P(a) for a legal child, −∞ for an illegal one.</param>
    /// <param name="childVisits">n(a).</param>
    /// <param name="exploration">E at the node.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float PuctScore(float qTilde, float maskedPrior, int childVisits, float exploration) =>
        qTilde + exploration * maskedPrior / (childVisits + 1);

    /// <summary>
    /// Gumbel MuZero at the root (<see cref="GumbelPolicy"/>, mctx <c>gumbel_muzero_root_action_selection</c>):
    /// max(low_logit, g(a) + logit(a) + σ(q̂(a))). Only legal actions whose visit count equals the
    /// sequential-halving schedule's compete; the search takes the first maximum.
    /// </summary>
    /// <param name="gumbel">g(a), the root's Gumbel noise (scaled).</param>
    /// <param name="logit">The max-shifted prior logit.</param>
    /// <param name="completedQ">σ(q̂(a)), the completed-Q transform's score.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GumbelRootScore(float gumbel, float logit, float completedQ) =>
        MathF.Max(LowLogit, gumbel + logit + completedQ);

    /// <summary>
    /// Gumbel MuZero below the root (mctx <c>gumbel_muzero_interior_action_selection</c>):
    /// π'(a) − n(a)/(1 + Σ_b n(b)), π' = softmax(logits + σ(q̂)) over the legal actions. Deterministic;
    /// only legal actions compete and the search takes the first maximum.
    /// </summary>
    /// <param name="improvedProbability">π'(a).</param>
    /// <param name="childVisits">n(a).</param>
    /// <param name="inverseVisits">1/(1 + Σ_b n(b)) over the node's children.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GumbelInteriorScore(float improvedProbability, int childVisits, float inverseVisits) =>
        improvedProbability - childVisits * inverseVisits;
}
