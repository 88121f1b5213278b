using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Planning.Search;

/// <summary>
/// The environment's own pure <see cref="IEnvironment{TState}.Step"/> as a recurrent model, so the
/// embedding is the state itself. Reward is the environment's reward; discount is γ (−γ when
/// <see cref="TwoPlayer"/>, 0 after a terminal step); a terminal node has no legal action and value 0.
/// Leaf values: the evaluator's value of the new state (one batched call per wave), or a uniformly
/// random rollout of <see cref="RolloutDepth"/> legal steps whose discounted rewards are summed and,
/// when an evaluator is given, bootstrapped with its value of the last state. Priors are uniform
/// over legal actions.
/// </summary>
public sealed class EnvironmentModel<TState> : IRecurrentModel<TState>
    where TState : struct
{
    private readonly IEnvironment<TState> _environment;
    private readonly IStateEvaluator<TState>? _evaluator;
    private readonly float _edgeDiscount;
    private readonly TState[] _leafStates;
    private readonly double[] _leafValues;
    private readonly int[] _leafRows;
    private readonly float[] _leafScales;
    private readonly bool[] _legal;

    /// <summary>Wraps <paramref name="environment"/>; <paramref name="maxBatch"/> is the largest batch B it will see.</summary>
    /// <param name="environment">The model of the world.</param>
    /// <param name="evaluator">Leaf values (the objective), or null for 0 / rollout returns only.</param>
    /// <param name="maxBatch">B.</param>
    /// <param name="discount">γ in [0, 1].</param>
    /// <param name="twoPlayer">Alternating two-player zero-sum: edges carry −γ, rewards and values are from the mover's view.</param>
    /// <param name="rolloutDepth">0 evaluates the leaf directly; d &gt; 0 adds a random rollout of d steps.</param>
    public EnvironmentModel(IEnvironment<TState> environment, IStateEvaluator<TState>? evaluator, int maxBatch, float discount = 1f, bool twoPlayer = false, int rolloutDepth = 0)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegative(rolloutDepth);
        if (!(discount is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(discount), discount, "must be in [0, 1]");
        }
        _environment = environment;
        _evaluator = evaluator;
        Discount = discount;
        TwoPlayer = twoPlayer;
        RolloutDepth = rolloutDepth;
        _edgeDiscount = twoPlayer ? -discount : discount;
        _leafStates = new TState[maxBatch];
        _leafValues = new double[maxBatch];
        _leafRows = new int[maxBatch];
        _leafScales = new float[maxBatch];
        _legal = new bool[environment.ActionCount];
    }

    /// <summary>γ.</summary>
    public float Discount { get; }

    /// <summary>Whether edges carry −γ.</summary>
    public bool TwoPlayer { get; }

    /// <summary>Random rollout length at each leaf (0 = none).</summary>
    public int RolloutDepth { get; }

    /// <summary>
    /// Writes the search roots for <paramref name="states"/>: uniform logits <c>[n, A]</c>, evaluator
    /// values <c>[n]</c> (0 without one) and legal actions <c>[n, A]</c>.
    /// </summary>
    public void WriteRoots(ReadOnlySpan<TState> states, Span<float> priorLogits, Span<float> values, Span<bool> validActions)
    {
        var a = _environment.ActionCount;
        priorLogits[..(states.Length * a)].Clear();
        for (var i = 0; i < states.Length; i++)
        {
            _environment.LegalActions(states[i], validActions.Slice(i * a, a));
        }
        if (_evaluator is null)
        {
            values[..states.Length].Clear();
            return;
        }
        for (var start = 0; start < states.Length; start += _leafValues.Length)
        {
            var count = Math.Min(_leafValues.Length, states.Length - start);
            _evaluator.Evaluate(states.Slice(start, count), _leafValues.AsSpan(0, count));
            for (var i = 0; i < count; i++)
            {
                values[start + i] = (float)_leafValues[i];
            }
        }
    }

    /// <inheritdoc/>
    public void Recurrent(in RecurrentBatch<TState> batch)
    {
        var a = batch.ActionCount;
        var leaves = 0;
        for (var row = 0; row < batch.Count; row++)
        {
            var step = _environment.Step(batch.Embeddings[row], batch.Actions[row]);
            batch.NextEmbeddings[row] = step.Next;
            batch.Rewards[row] = step.Reward;
            var valid = batch.ValidActionsOf(row);
            if (step.Terminated)
            {
                batch.Discounts[row] = 0f;
                valid.Clear();
                continue;
            }
            batch.Discounts[row] = _edgeDiscount;
            _environment.LegalActions(step.Next, valid);
            var value = 0f;
            var scale = 1f;
            var state = step.Next;
            var ended = false;
            if (RolloutDepth > 0)
            {
                (value, scale, state, ended) = Rollout(step.Next, ref batch.Random[row]);
            }
            batch.Values[row] = value;
            if (!ended && _evaluator is not null)
            {
                _leafStates[leaves] = state;
                _leafRows[leaves] = row;
                _leafScales[leaves] = scale;
                leaves++;
            }
        }
        if (leaves > 0)
        {
            _evaluator!.Evaluate(_leafStates.AsSpan(0, leaves), _leafValues.AsSpan(0, leaves));
            for (var i = 0; i < leaves; i++)
            {
                batch.Values[_leafRows[i]] += _leafScales[i] * (float)_leafValues[i];
            }
        }
    }

    /// <summary>Plays uniformly random legal actions; returns the signed discounted return, the discount to the last state, that state, and whether the episode ended.</summary>
    private (float Return, float Scale, TState Last, bool Ended) Rollout(TState state, ref Rng rng)
    {
        var total = 0f;
        var scale = 1f;
        var legal = _legal.AsSpan();
        for (var t = 0; t < RolloutDepth; t++)
        {
            _environment.LegalActions(state, legal);
            var count = 0;
            foreach (var ok in legal)
            {
                count += ok ? 1 : 0;
            }
            if (count == 0)
            {
                return (total, scale, state, true);
            }
            var pick = rng.NextInt(count);
            var action = 0;
            for (; action < legal.Length; action++)
            {
                if (legal[action] && pick-- == 0)
                {
                    break;
                }
            }
            var step = _environment.Step(state, action);
            total += scale * step.Reward;
            scale *= _edgeDiscount;
            state = step.Next;
            if (step.Terminated)
            {
                return (total, scale, state, true);
            }
        }
        return (total, scale, state, false);
    }
}
