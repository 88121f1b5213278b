using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement;

/// <summary>
/// A trained policy as an agent under the one contract (<see cref="AgentKind.LearnedOptimizer"/>):
/// B lanes, each carrying its own recurrent state, all acting in one forward pass per
/// <see cref="Act"/>. <see cref="Reset"/> zeroes a lane's state, so no memory crosses episodes.
/// Observations are written by the level's own <see cref="IEnvironment{TState}.WriteObservation"/>,
/// so the policy sees what it saw in training. Greedy agents take the most probable action (ties:
/// the lowest index); sampling agents draw from the policy with a stream seeded by the episode
/// seed, so a lane's actions do not depend on which other lanes run beside it.
/// <para><b>Thinking steps</b> (Taufeeque et al. 2024): with <see cref="ThinkingSteps"/> K &gt; 0, a
/// lane's first observation of an episode is fed K extra times before the step that chooses its first
/// action, the outputs discarded, so only the state that first action is computed from changes. A
/// thinking step is one environment step's worth of recurrence (the LSTM's one tick, DRC's N ticks);
/// for a feed-forward policy, whose state is empty, it changes nothing.</para>
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
/// <remarks>The policy is shared, not owned; disposing the agent frees only its lane states.</remarks>
public sealed class PolicyAgent<TState> : IBatchedAgent<TState>, IDisposable
    where TState : struct
{
    private readonly ActorCritic _policy;
    private readonly IEnvironment<TState>?[] _levels;
    private readonly Rng[] _streams;
    private readonly float[] _observations;
    private readonly float[] _logits;
    private readonly long[] _laneIndex;
    private readonly long[] _thinkingRows;
    private readonly long[] _thinkingLanes;
    private readonly bool[] _firstStep;
    private readonly Tensor _hidden; // [B, S]
    private readonly Tensor _cell;   // [B, S]

    /// <summary>An agent of <paramref name="lanes"/> lanes running <paramref name="policy"/>.</summary>
    /// <param name="policy">The trained policy (shared).</param>
    /// <param name="lanes">B ≥ 1.</param>
    /// <param name="name">The name tables show.</param>
    /// <param name="greedy">Take the argmax action (true) or sample.</param>
    /// <param name="thinkingSteps">K ≥ 0 extra recurrent steps on each episode's first observation before its first action.</param>
    public PolicyAgent(ActorCritic policy, int lanes, string name, bool greedy = true, int thinkingSteps = 0)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(thinkingSteps);
        TorchRuntime.EnsureInitialized();
        _policy = policy;
        Name = name;
        Greedy = greedy;
        ThinkingSteps = thinkingSteps;
        _levels = new IEnvironment<TState>?[lanes];
        _streams = new Rng[lanes];
        _observations = new float[lanes * policy.Observation.Size];
        _logits = new float[lanes * policy.Actions];
        _laneIndex = new long[lanes];
        _thinkingRows = new long[lanes];
        _thinkingLanes = new long[lanes];
        _firstStep = new bool[lanes];
        _hidden = zeros(lanes, policy.StateSize).DetachFromDisposeScope();
        _cell = zeros(lanes, policy.StateSize).DetachFromDisposeScope();
    }

    public string Name { get; }

    public AgentKind Kind => AgentKind.LearnedOptimizer;

    public int Lanes => _levels.Length;

    /// <summary>Whether actions are the argmax (else sampled).</summary>
    public bool Greedy { get; }

    /// <summary>Extra recurrent steps on each episode's first observation before its first action (0: none).</summary>
    public int ThinkingSteps { get; }

    /// <summary>The policy.</summary>
    public ActorCritic Policy => _policy;

    /// <summary>Lane <paramref name="lane"/>'s recurrent state, copies [S] of hidden and cell (for tests and probes).</summary>
    public (float[] Hidden, float[] Cell) LaneState(int lane) => (_hidden[lane].data<float>().ToArray(), _cell[lane].data<float>().ToArray());

    /// <exception cref="TelosInputException">The level's observations or actions do not fit the policy.</exception>
    public void Reset(int lane, IEnvironment<TState> level, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(level);
        if (level.ObservationShape != _policy.Observation || level.ActionCount != _policy.Actions)
        {
            throw new TelosInputException($"{Name} takes {_policy.Observation} observations and {_policy.Actions} actions; the level has {level.ObservationShape} and {level.ActionCount}");
        }
        _levels[lane] = level;
        _streams[lane] = Seeds.Stream(seed, "policy-agent/actions");
        _firstStep[lane] = true;
        using var scope = NewDisposeScope(); // the row views
        using var noGrad = no_grad();
        _hidden[lane].zero_();
        _cell[lane].zero_();
    }

    public void Act(ReadOnlySpan<int> lanes, ReadOnlySpan<TState> states, Span<int> actions)
    {
        var k = lanes.Length;
        if (k == 0)
        {
            return;
        }
        var size = _policy.Observation.Size;
        var a = _policy.Actions;
        var thinking = 0;
        for (var i = 0; i < k; i++)
        {
            var level = _levels[lanes[i]] ?? throw new InvalidOperationException($"lane {lanes[i]} acted before Reset");
            level.WriteObservation(states[i], _observations.AsSpan(i * size, size));
            _laneIndex[i] = lanes[i];
            if (_firstStep[lanes[i]] && ThinkingSteps > 0)
            {
                (_thinkingRows[thinking], _thinkingLanes[thinking]) = (i, lanes[i]);
                thinking++;
            }
            _firstStep[lanes[i]] = false;
        }
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var o = _policy.Observation;
            // The preallocated buffers go to LibTorch whole (no managed copy per step) and are narrowed to the k active lanes.
            var observations = tensor(_observations).narrow(0, 0, k * size).view(1, k, o.Channels, o.Height, o.Width);
            if (thinking > 0)
            {
                Think(observations, thinking);
            }
            var index = tensor(_laneIndex).narrow(0, 0, k);
            var state = new RecurrentState(_hidden.index_select(0, index), _cell.index_select(0, index));
            var output = _policy.Unroll(observations, state, zeros(1, k));
            _hidden.index_copy_(0, index, output.State.Hidden);
            _cell.index_copy_(0, index, output.State.Cell);
            output.Logits[0].contiguous().data<float>().CopyTo(_logits, 0);
        }
        for (var i = 0; i < k; i++)
        {
            var logits = _logits.AsSpan(i * a, a);
            actions[i] = Greedy ? ArgMax(logits) : Sample(logits, ref _streams[lanes[i]]);
        }
    }

    /// <summary>Runs the first <paramref name="count"/> thinking lanes K steps on their observation (rows of <paramref name="observations"/>), keeping only their state.</summary>
    private void Think(Tensor observations, int count)
    {
        var rows = tensor(_thinkingRows).narrow(0, 0, count);
        var index = tensor(_thinkingLanes).narrow(0, 0, count);
        var first = observations.index_select(1, rows);
        var repeated = first.expand([ThinkingSteps, .. first.shape.AsSpan(1)]);
        var state = new RecurrentState(_hidden.index_select(0, index), _cell.index_select(0, index));
        var output = _policy.Unroll(repeated, state, zeros(ThinkingSteps, count));
        _hidden.index_copy_(0, index, output.State.Hidden);
        _cell.index_copy_(0, index, output.State.Cell);
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }

    private static int Sample(ReadOnlySpan<float> logits, ref Rng stream)
    {
        var max = logits[ArgMax(logits)];
        double total = 0;
        foreach (var l in logits)
        {
            total += Math.Exp(l - max);
        }
        var u = stream.NextDouble() * total;
        for (var i = 0; i < logits.Length - 1; i++)
        {
            u -= Math.Exp(logits[i] - max);
            if (u < 0)
            {
                return i;
            }
        }
        return logits.Length - 1;
    }

    public void Dispose()
    {
        _hidden.Dispose();
        _cell.Dispose();
    }
}

/// <summary>A trained policy as a single-episode <see cref="IAgent{TState}"/>: a one-lane <see cref="PolicyAgent{TState}"/>.</summary>
/// <typeparam name="TState">The environment's state.</typeparam>
public sealed class PolicyLaneAgent<TState> : IAgent<TState>, IDisposable
    where TState : struct
{
    private static readonly int[] LaneZero = [0];
    private readonly PolicyAgent<TState> _lane;
    private readonly int[] _action = new int[1];
    private readonly TState[] _state = new TState[1];
    private bool _started;

    /// <summary>One lane of <paramref name="policy"/>.</summary>
    /// <param name="policy">The trained policy (shared).</param>
    /// <param name="name">The name tables show.</param>
    /// <param name="greedy">Take the argmax action (true) or sample.</param>
    /// <param name="thinkingSteps">K ≥ 0 extra recurrent steps on the first observation before the first action (<see cref="PolicyAgent{TState}.ThinkingSteps"/>).</param>
    public PolicyLaneAgent(ActorCritic policy, string name, bool greedy = true, int thinkingSteps = 0) =>
        _lane = new PolicyAgent<TState>(policy, 1, name, greedy, thinkingSteps);

    public string Name => _lane.Name;

    public AgentKind Kind => _lane.Kind;

    public void Reset(IEnvironment<TState> level, ulong seed)
    {
        _lane.Reset(0, level, seed);
        _started = true;
    }

    public int Act(in TState state)
    {
        if (!_started)
        {
            throw new InvalidOperationException($"{Name}: Act before Reset");
        }
        _state[0] = state;
        _lane.Act(LaneZero, _state, _action);
        return _action[0];
    }

    /// <summary>The lane's recurrent state (<see cref="PolicyAgent{TState}.LaneState"/>).</summary>
    public (float[] Hidden, float[] Cell) State => _lane.LaneState(0);

    public IAgent<TState> Fork() => new PolicyLaneAgent<TState>(_lane.Policy, _lane.Name, _lane.Greedy, _lane.ThinkingSteps);

    public void Dispose() => _lane.Dispose();
}
