using Telos.Environments;
using Telos.Objectives;

namespace Telos.Planning;

/// <summary>
/// A hard-coded optimizer: <c>Decide(state, model, objective, budget)</c>. The objective is the only
/// learned part; the planner sees it as a batched <see cref="IStateEvaluator{TState}"/> and never
/// calls it once per node through TorchSharp.
/// </summary>
/// <remarks>
/// <para>What every planner optimises: the objective V is a value of states. Arriving in state s′
/// earns V(s′); the planner may also <em>halt</em> in any state s, which is worth staying there
/// forever (V(s)/(1 − γ)), and a terminating transition counts the same as halting in the state it
/// reaches. So the agent goes to the best state it can reach, weighing what it passes through on
/// the way, and stops there. With V = 1 on the goal and 0 elsewhere this is "shortest path to the goal".</para>
/// <para>The model is the environment's own pure <c>Step</c> for now. The MCTS planners reach it
/// through mctx's recurrent-function contract (<c>Telos.Planning.Search.IRecurrentModel</c>), which a
/// learned model implements the same way.</para>
/// </remarks>
public interface IPlanner<TState>
    where TState : struct
{
    /// <summary>The planner's CLI name: <c>bfs</c>, <c>vi</c>, <c>mcts</c>, <c>gumbel</c>.</summary>
    string Name { get; }

    /// <summary>Chooses the action to take in <paramref name="state"/>.</summary>
    /// <param name="state">Where the agent is.</param>
    /// <param name="model">The world model to search with (the level itself).</param>
    /// <param name="objective">What to optimise: state values, batched.</param>
    /// <param name="budget">Simulations, horizon, discount.</param>
    /// <exception cref="TelosInputException">The planner cannot work on this model (an exact planner on a non-enumerable one).</exception>
    PlanDecision<TState> Decide(in TState state, IEnvironment<TState> model, IStateEvaluator<TState> objective, PlanBudget budget);
}

/// <summary>How much a planner may think.</summary>
/// <param name="Simulations">MCTS simulations per decision (N); exact planners ignore it.</param>
/// <param name="Horizon">BFS: deepest plan in steps; 0 = the model's step limit. MCTS and value iteration ignore it.</param>
/// <param name="Discount">γ for value iteration and MCTS, in [0, 1).</param>
/// <param name="Seed">Seed of the search's randomness (Gumbel noise, Dirichlet noise).</param>
/// <param name="KeepTree">Keep the search tree in the decision (for JSON export); costs allocation.</param>
/// <param name="Ties">How exact planners choose between equally good plans: <see cref="TieBreak.Random"/> (the default) draws
/// uniformly from a stream seeded by <paramref name="Seed"/>, so a result never hinges on state or action order.</param>
/// <param name="TieTolerance">BFS: destinations whose values are within this fraction of the best |value| count as equal
/// (0 = equal to rounding, 1e-9 relative). A tolerance such as 0.01 makes BFS indifferent to weights too small to matter (for
/// example 0.001 on a coordinate beside 5 on a goal feature). Value iteration ignores it and ties only values equal to rounding:
/// its action values fold in discounting, so a relative slack would let it step away from its goal.</param>
public readonly record struct PlanBudget(int Simulations = 64, int Horizon = 0, double Discount = 0.99, ulong Seed = 0, bool KeepTree = false,
    TieBreak Ties = TieBreak.Random, double TieTolerance = 0)
{
    /// <summary>The defaults: 64 simulations, full horizon, γ = 0.99, seed 0.</summary>
    public static PlanBudget Default => new(64);

    /// <exception cref="TelosInputException">A field is out of range; the message names it.</exception>
    public void Validate()
    {
        if (Simulations < 1)
        {
            throw new TelosInputException($"simulations {Simulations} must be at least 1");
        }
        if (Horizon < 0)
        {
            throw new TelosInputException($"horizon {Horizon} must be 0 (the step limit) or positive");
        }
        if (!(Discount >= 0 && Discount < 1))
        {
            throw new TelosInputException($"discount {Discount} must be in [0, 1)");
        }
        if (!(TieTolerance >= 0 && TieTolerance < 1))
        {
            throw new TelosInputException($"tie tolerance {TieTolerance} must be in [0, 1)");
        }
        if (!Enum.IsDefined(Ties))
        {
            throw new TelosInputException($"tie rule {(int)Ties} is not one of {string.Join(", ", Enum.GetNames<TieBreak>())}");
        }
    }

    /// <summary>Equal to rounding: the slack, relative to a value's magnitude (at least 1), under which two values count as equal.</summary>
    public const double RoundingTolerance = Exact.ValueIteration.TieTolerance;

    /// <summary>The slack under which two destinations' values count as equal: the larger of <see cref="RoundingTolerance"/> and <see cref="TieTolerance"/>, relative to <paramref name="scale"/> (at least 1).</summary>
    public double TieSlack(double scale) => Math.Max(RoundingTolerance, TieTolerance) * Math.Max(1.0, Math.Abs(scale));
}

/// <summary>How an exact planner chooses between plans whose values are equal (within <see cref="PlanBudget.TieTolerance"/>).</summary>
public enum TieBreak
{
    /// <summary>Uniformly at random, from a stream seeded by the budget's seed: the rule results are reported under.</summary>
    Random,

    /// <summary>The first in the planner's own order (BFS: the nearest, then discovery order; value iteration: the lowest action index).</summary>
    First,
}

/// <summary>What a planner decided, and why.</summary>
/// <typeparam name="TState">The model's state.</typeparam>
public sealed class PlanDecision<TState>
    where TState : struct
{
    /// <summary>The value of <see cref="Action"/> when the planner halts: no move is better than staying.</summary>
    public const int Halt = -1;

    /// <summary>Builds a decision.</summary>
    public PlanDecision(string planner, int action, TState[] plan, int[] planActions, double value, bool complete,
        float[]? visitDistribution = null, float[]? policyTarget = null, SearchTreeSnapshot? tree = null)
    {
        if (plan.Length != planActions.Length + 1)
        {
            throw new ArgumentException($"a plan of {planActions.Length} actions has {planActions.Length + 1} states, not {plan.Length}");
        }
        Planner = planner;
        Action = action;
        Plan = plan;
        PlanActions = planActions;
        Value = value;
        Complete = complete;
        VisitDistribution = visitDistribution;
        PolicyTarget = policyTarget;
        Tree = tree;
    }

    /// <summary>Which planner decided.</summary>
    public string Planner { get; }

    /// <summary>The action to take now, 0..A−1, or <see cref="Halt"/>.</summary>
    public int Action { get; }

    /// <summary>Whether the planner halts here.</summary>
    public bool Halts => Action == Halt;

    /// <summary>
    /// The states of the plan, [T+1], starting with the current state. Exact planners: the whole
    /// optimal plan to where it halts. MCTS: the principal variation (most-visited path) of the tree.
    /// </summary>
    public IReadOnlyList<TState> Plan { get; }

    /// <summary>The actions of the plan, [T].</summary>
    public IReadOnlyList<int> PlanActions { get; }

    /// <summary>
    /// The planner's value of the current state: value iteration and MCTS, the discounted return with
    /// halting (see <see cref="IPlanner{TState}"/>); BFS, the objective's value of the state it halts in.
    /// </summary>
    public double Value { get; }

    /// <summary>
    /// True for exact planners: the plan is optimal to its end, so an agent may follow all of it
    /// without deciding again. False for MCTS, whose agent decides again after every step.
    /// </summary>
    public bool Complete { get; }

    /// <summary>MCTS: root visit counts normalised to sum to 1, [A] (A includes the halt action last). Null for exact planners.</summary>
    public IReadOnlyList<float>? VisitDistribution { get; }

    /// <summary>MCTS: the policy-improvement target, [A] (halt last). Null for exact planners.</summary>
    public IReadOnlyList<float>? PolicyTarget { get; }

    /// <summary>The search tree, when <see cref="PlanBudget.KeepTree"/> was set.</summary>
    public SearchTreeSnapshot? Tree { get; }
}
