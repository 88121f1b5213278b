using Telos.Environments;
using Telos.Planning;

namespace Telos.Agents;

/// <summary>
/// The three kinds of agent every table keeps apart, and scripted controls. The kind says what a
/// programmer can do with the agent's objective: read and edit it, query it, or only probe it.
/// </summary>
public enum AgentKind
{
    /// <summary>A hard-coded optimizer over a readable objective (a card of named weights).</summary>
    ReadableObjective,

    /// <summary>A hard-coded optimizer over a neural objective: not readable, but its value at any state can be asked for.</summary>
    NeuralObjective,

    /// <summary>A policy trained end to end (recurrent PPO): its objective, if any, can only be probed, steered or inferred.</summary>
    LearnedOptimizer,

    /// <summary>A fixed rule with no objective (random, scripted) — a control.</summary>
    Scripted,
}

/// <summary>
/// Anything that acts in an environment, one episode at a time: a hard-coded agent (planner ×
/// model × objective) or a learned policy. The agent carries its own episode state (a plan being
/// followed, an LSTM's hidden state), which <see cref="Reset"/> clears.
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
/// <remarks>An agent is not thread-safe; <see cref="Fork"/> gives an independent one for another lane or thread.</remarks>
public interface IAgent<TState>
    where TState : struct
{
    /// <summary>A short name for tables: <c>bfs × learned.json</c>, <c>ppo-lstm</c>.</summary>
    string Name { get; }

    /// <summary>Which of the kinds this agent is.</summary>
    AgentKind Kind { get; }

    /// <summary>Starts an episode on <paramref name="level"/>: forgets everything about the last one.</summary>
    /// <param name="level">The level the episode runs on (and, for hard-coded agents, the model they plan with).</param>
    /// <param name="seed">The episode's seed: all of the agent's randomness in the episode derives from it.</param>
    void Reset(IEnvironment<TState> level, ulong seed);

    /// <summary>The action to take in <paramref name="state"/>, the episode's current state: 0..A−1, or <see cref="AgentActions.Halt"/> to stop.</summary>
    /// <exception cref="InvalidOperationException">Called before <see cref="Reset"/>.</exception>
    int Act(in TState state);

    /// <summary>A new agent with the same parameters and no episode state.</summary>
    IAgent<TState> Fork();
}

/// <summary>An agent that can say why it acted, in its objective's own terms.</summary>
public interface IExplainingAgent<TState> : IAgent<TState>
    where TState : struct
{
    /// <summary>"Why this path": each step's change of the objective and of every named feature.</summary>
    /// <param name="level">The level the episode ran on.</param>
    /// <param name="states">The visited states, [T+1].</param>
    /// <param name="actions">The actions, [T].</param>
    /// <param name="actionName">Names actions for the trace.</param>
    PlanTrace Explain(IEnvironment<TState> level, IReadOnlyList<TState> states, IReadOnlyList<int> actions, Func<int, string> actionName);
}

/// <summary>
/// The batched form: B lanes, each an episode of its own, acting together (one forward pass for a
/// policy network). Lanes are reset one at a time, so an evaluation can refill a finished lane
/// with the next level while the others run on.
/// </summary>
public interface IBatchedAgent<TState>
    where TState : struct
{
    /// <inheritdoc cref="IAgent{TState}.Name"/>
    string Name { get; }

    /// <inheritdoc cref="IAgent{TState}.Kind"/>
    AgentKind Kind { get; }

    /// <summary>Number of lanes, B.</summary>
    int Lanes { get; }

    /// <summary>Starts an episode in lane <paramref name="lane"/> (0..B−1).</summary>
    void Reset(int lane, IEnvironment<TState> level, ulong seed);

    /// <summary>Writes the action of each listed lane: <paramref name="actions"/>[i] for lane <paramref name="lanes"/>[i] in <paramref name="states"/>[i]. Lengths match.</summary>
    void Act(ReadOnlySpan<int> lanes, ReadOnlySpan<TState> states, Span<int> actions);
}

/// <summary>Constants and adapters of the agent contract.</summary>
public static class AgentActions
{
    /// <summary>The action value that stops the episode where it is (hard-coded agents halt when nothing reachable beats staying).</summary>
    public const int Halt = -1;

    /// <summary>B independent copies of <paramref name="agent"/> as one batched agent (lane 0 is <paramref name="agent"/> itself).</summary>
    public static IBatchedAgent<TState> Lanes<TState>(IAgent<TState> agent, int lanes)
        where TState : struct => new AgentLanes<TState>(agent, lanes);

    private sealed class AgentLanes<TState> : IBatchedAgent<TState>
        where TState : struct
    {
        private readonly IAgent<TState>[] _lanes;

        public AgentLanes(IAgent<TState> agent, int lanes)
        {
            ArgumentNullException.ThrowIfNull(agent);
            ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
            _lanes = new IAgent<TState>[lanes];
            _lanes[0] = agent;
            for (var i = 1; i < lanes; i++)
            {
                _lanes[i] = agent.Fork();
            }
        }

        public string Name => _lanes[0].Name;

        public AgentKind Kind => _lanes[0].Kind;

        public int Lanes => _lanes.Length;

        public void Reset(int lane, IEnvironment<TState> level, ulong seed) => _lanes[lane].Reset(level, seed);

        public void Act(ReadOnlySpan<int> lanes, ReadOnlySpan<TState> states, Span<int> actions)
        {
            for (var i = 0; i < lanes.Length; i++)
            {
                actions[i] = _lanes[lanes[i]].Act(states[i]);
            }
        }
    }
}
