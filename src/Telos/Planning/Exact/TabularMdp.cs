using Telos.Environments;
using Telos.Objectives;

namespace Telos.Planning.Exact;

/// <summary>
/// The transition table of one enumerable level: for every state index s and action a, the next
/// state index and whether the transition ends the episode. Built once per level by stepping every
/// (state, action) through the environment's pure <c>Step</c>; exact planners (value iteration,
/// soft value iteration, state visitation) work on this table only.
/// </summary>
/// <remarks>
/// The environments in Telos are deterministic, so one next state per (s, a) is enough. An action
/// that <see cref="IEnvironment{TState}.LegalActions"/> reports illegal is stored as −1 and never
/// taken. Truncation is ignored (states are enumerated at step count 0).
/// </remarks>
public sealed class TabularMdp
{
    private readonly int[] _next;
    private readonly bool[] _ends;

    /// <summary>Wraps a transition table.</summary>
    /// <param name="stateCount">S.</param>
    /// <param name="actionCount">A.</param>
    /// <param name="next">[S, A] row-major: next state index in 0..S−1, or −1 for an illegal action.</param>
    /// <param name="ends">[S, A]: the transition terminates the episode (nothing is earned after it).</param>
    /// <exception cref="ArgumentException">Shapes do not match or an index is out of range.</exception>
    public TabularMdp(int stateCount, int actionCount, int[] next, bool[] ends)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stateCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actionCount);
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(ends);
        if (next.Length != stateCount * actionCount || ends.Length != next.Length)
        {
            throw new ArgumentException($"next and ends must have S·A = {stateCount * actionCount} entries; got {next.Length} and {ends.Length}");
        }
        foreach (var n in next)
        {
            if (n < -1 || n >= stateCount)
            {
                throw new ArgumentException($"next state {n} is outside −1..{stateCount - 1}", nameof(next));
            }
        }
        StateCount = stateCount;
        ActionCount = actionCount;
        _next = next;
        _ends = ends;
    }

    /// <summary>Number of states, S.</summary>
    public int StateCount { get; }

    /// <summary>Number of actions, A.</summary>
    public int ActionCount { get; }

    /// <summary>[S, A] row-major next state indices; −1 marks an illegal action.</summary>
    public ReadOnlySpan<int> NextStates => _next;

    /// <summary>[S, A] row-major: whether the transition terminates the episode.</summary>
    public ReadOnlySpan<bool> Terminations => _ends;

    /// <summary>The next state index of (<paramref name="state"/>, <paramref name="action"/>), or −1 if illegal.</summary>
    public int Next(int state, int action) => _next[state * ActionCount + action];

    /// <summary>Whether (<paramref name="state"/>, <paramref name="action"/>) terminates the episode.</summary>
    public bool Ends(int state, int action) => _ends[state * ActionCount + action];

    /// <summary>
    /// The same table with one extra action, index A ("halt"): a terminating self-transition, so a
    /// planner may choose to stop in any state. Planners pair it with the terminal value r/(1 − γ),
    /// which makes halting in s worth staying in s forever.
    /// </summary>
    public TabularMdp WithHalt()
    {
        var a = ActionCount + 1;
        var next = new int[StateCount * a];
        var ends = new bool[StateCount * a];
        for (var s = 0; s < StateCount; s++)
        {
            _next.AsSpan(s * ActionCount, ActionCount).CopyTo(next.AsSpan(s * a));
            _ends.AsSpan(s * ActionCount, ActionCount).CopyTo(ends.AsSpan(s * a));
            next[s * a + ActionCount] = s;
            ends[s * a + ActionCount] = true;
        }
        return new TabularMdp(StateCount, a, next, ends);
    }

    /// <summary>Steps every state index and every legal action of <paramref name="environment"/> once.</summary>
    /// <exception cref="InvalidOperationException">A step leads to a state the environment cannot index.</exception>
    public static TabularMdp FromEnvironment<TState>(IEnumerableEnvironment<TState> environment)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(environment);
        var s = environment.StateCount;
        var a = environment.ActionCount;
        var next = new int[s * a];
        var ends = new bool[s * a];
        Span<bool> legal = stackalloc bool[a];
        for (var i = 0; i < s; i++)
        {
            var state = environment.StateAt(i);
            legal.Clear();
            environment.LegalActions(state, legal);
            for (var action = 0; action < a; action++)
            {
                var k = i * a + action;
                if (!legal[action])
                {
                    next[k] = -1;
                    continue;
                }
                var step = environment.Step(state, action);
                var j = environment.IndexOf(step.Next);
                if (j < 0 || j >= s)
                {
                    throw new InvalidOperationException($"{environment.Name}: state {i}, action {action} leads to index {j}, outside 0..{s - 1}");
                }
                next[k] = j;
                ends[k] = step.Terminated;
            }
        }
        return new TabularMdp(s, a, next, ends);
    }

    /// <summary>
    /// The objective's value of every state of the level, in one batched call: the state reward
    /// vector [S] that <see cref="ValueIteration"/> takes.
    /// </summary>
    public static double[] EvaluateStates<TState>(IEnumerableEnvironment<TState> environment, IStateEvaluator<TState> objective)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(objective);
        var states = new TState[environment.StateCount];
        for (var i = 0; i < states.Length; i++)
        {
            states[i] = environment.StateAt(i);
        }
        var values = new double[states.Length];
        objective.Evaluate(states, values);
        return values;
    }
}
