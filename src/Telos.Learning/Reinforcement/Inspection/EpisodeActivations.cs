using Telos.Agents;
using Telos.Environments;

namespace Telos.Learning.Reinforcement.Inspection;

/// <summary>An episode and, for every recorded hook point, its activation before each action.</summary>
/// <param name="Episode">The episode as <see cref="AgentEvaluation.Run{TState}"/> returns it.</param>
/// <param name="Activations">Point name → [T] activations, each the point's last firing (flattened, row-major) in the forward pass that chose action t.</param>
public sealed record RecordedEpisode<TState>(AgentEpisode<TState> Episode, IReadOnlyDictionary<string, float[][]> Activations)
    where TState : struct;

/// <summary>Records a policy's activations through the agent path, so it works on any level of any family.</summary>
public static class EpisodeActivations
{
    /// <summary>
    /// Runs one episode of <paramref name="hooks"/>' policy on <paramref name="level"/> as a
    /// <see cref="PolicyLaneAgent{TState}"/> through <see cref="AgentEvaluation.Run{TState}"/>, with
    /// <paramref name="hooks"/> set (their steering and clamps act), and keeps, after each action,
    /// every recorded point's activation. The policy's previous hooks are restored afterwards.
    /// </summary>
    /// <param name="hooks">The edits, with <see cref="ActivationHooks.Record"/> on each point to keep (none recorded: only the episode).</param>
    /// <param name="level">The level.</param>
    /// <param name="seed">The episode seed (action sampling when not greedy).</param>
    /// <param name="greedy">Argmax actions (true) or sampled.</param>
    /// <param name="thinkingSteps">Thinking steps before the first action (<see cref="PolicyAgent{TState}.ThinkingSteps"/>).</param>
    public static RecordedEpisode<TState> Record<TState>(ActivationHooks hooks, IEnvironment<TState> level, ulong seed, bool greedy = true, int thinkingSteps = 0)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(hooks);
        var policy = hooks.Policy;
        var previous = policy.Hooks;
        policy.Hooks = hooks;
        try
        {
            using var agent = new RecordingAgent<TState>(new PolicyLaneAgent<TState>(policy, "recorded", greedy, thinkingSteps), hooks);
            var episode = AgentEvaluation.Run(agent, level, seed);
            return new RecordedEpisode<TState>(episode, agent.Rows.ToDictionary(r => r.Key, r => r.Value.ToArray(), StringComparer.Ordinal));
        }
        finally
        {
            policy.Hooks = previous;
        }
    }

    /// <summary>A lane agent that copies the recorded points' activations after each action.</summary>
    private sealed class RecordingAgent<TState>(PolicyLaneAgent<TState> inner, ActivationHooks hooks) : IAgent<TState>, IDisposable
        where TState : struct
    {
        private readonly string[] _points = [.. hooks.RecordedPoints];

        public Dictionary<string, List<float[]>> Rows { get; } = hooks.RecordedPoints.ToDictionary(p => p, _ => new List<float[]>(), StringComparer.Ordinal);

        public string Name => inner.Name;

        public AgentKind Kind => inner.Kind;

        public void Reset(IEnvironment<TState> level, ulong seed)
        {
            inner.Reset(level, seed);
            foreach (var rows in Rows.Values)
            {
                rows.Clear();
            }
        }

        public int Act(in TState state)
        {
            var action = inner.Act(state);
            foreach (var point in _points)
            {
                var last = hooks.Recorded(point) ?? throw new InvalidOperationException($"hook point {point} did not fire");
                Rows[point].Add(last[0].flatten().data<float>().ToArray());
            }
            return action;
        }

        public IAgent<TState> Fork() => new RecordingAgent<TState>((PolicyLaneAgent<TState>)inner.Fork(), hooks);

        public void Dispose() => inner.Dispose();
    }
}
