using Telos.Environments;
using Telos.Objectives;
using Telos.Planning.Search;

namespace Telos.Planning;

/// <summary>
/// The environment as mctx's recurrent function, with the objective as the reward and the halt
/// option of <see cref="IPlanner{TState}"/>: embedding = state; actions 0..A−1 are the
/// environment's, action A halts. Each root r has its own level and objective evaluator.
/// </summary>
/// <remarks>
/// <para>Per row: a move earns V(s′) on arrival, discount γ, and the new node's value is V(s′)/(1 − γ)
/// (what halting there is worth: a lower bound on its true value). A terminating move or a halt
/// earns V(s′)/(1 − γ) at once, with discount 0 and no legal action after it. Priors are uniform over
/// moves, with the halt action at logit <see cref="HaltPriorLogit"/>.</para>
/// <para>Leaf values: the rows of one wave are evaluated in one batched call per run of consecutive
/// roots sharing an evaluator — one call per wave when all roots share one, never one per node
/// unless each root brings its own.</para>
/// </remarks>
public sealed class ObjectiveSearchModel<TState> : IRecurrentModel<TState>
    where TState : struct
{
    private readonly IEnvironment<TState>?[] _environments;
    private readonly IStateEvaluator<TState>?[] _evaluators;
    private readonly TState[] _states;
    private readonly double[] _values;

    /// <param name="maxBatch">B, the most roots.</param>
    /// <param name="environmentActions">A of the environment; the model has A + 1 actions.</param>
    /// <param name="discount">γ in [0, 1).</param>
    public ObjectiveSearchModel(int maxBatch, int environmentActions, double discount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(environmentActions);
        if (!(discount is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(discount), discount, "must be in [0, 1)");
        }
        EnvironmentActions = environmentActions;
        Discount = (float)discount;
        _environments = new IEnvironment<TState>?[maxBatch];
        _evaluators = new IStateEvaluator<TState>?[maxBatch];
        _states = new TState[maxBatch];
        _values = new double[maxBatch];
    }

    /// <summary>
    /// Prior logit of the halt action (moves have 0): −1 gives halting about a third of a move's prior
    /// probability. With equal priors a PUCT root that happened to try halting first saw every untried
    /// move at the bottom of the min-max range and could spend most of a small budget confirming the
    /// halt; a lower halt prior lets the moves be tried first, and halting still wins where it is best.
    /// </summary>
    public const float HaltPriorLogit = -1f;

    /// <summary>A of the environment; <see cref="HaltAction"/> = A.</summary>
    public int EnvironmentActions { get; }

    /// <summary>The halt action's index, A.</summary>
    public int HaltAction => EnvironmentActions;

    /// <summary>A + 1, the action count the search sees.</summary>
    public int ActionCount => EnvironmentActions + 1;

    /// <summary>γ.</summary>
    public float Discount { get; }

    /// <summary>Binds root <paramref name="root"/> to its level and objective for the next search.</summary>
    public void Bind(int root, IEnvironment<TState> environment, IStateEvaluator<TState> objective)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(objective);
        if (environment.ActionCount != EnvironmentActions)
        {
            throw new ArgumentException($"environment '{environment.Name}' has {environment.ActionCount} actions; the model was built for {EnvironmentActions}");
        }
        _environments[root] = environment;
        _evaluators[root] = objective;
    }

    /// <summary>
    /// Writes the roots of a search over <paramref name="states"/> (bound with <see cref="Bind"/>):
    /// prior logits [n, A+1] (0 for moves, <see cref="HaltPriorLogit"/> for halt), values V(s)/(1 − γ) [n], legal actions [n, A+1] (halt always legal).
    /// </summary>
    public void WriteRoots(ReadOnlySpan<TState> states, Span<float> priorLogits, Span<float> values, Span<bool> validActions)
    {
        var a = ActionCount;
        priorLogits[..(states.Length * a)].Clear();
        for (var i = 0; i < states.Length; i++)
        {
            priorLogits[i * a + HaltAction] = HaltPriorLogit;
            var valid = validActions.Slice(i * a, a);
            valid.Clear();
            Environment(i).LegalActions(states[i], valid[..EnvironmentActions]);
            valid[HaltAction] = true;
            _states[i] = states[i];
        }
        EvaluateRuns(ReadOnlySpan<int>.Empty, states.Length);
        var scale = 1f / (1f - Discount);
        for (var i = 0; i < states.Length; i++)
        {
            values[i] = scale * (float)_values[i];
        }
    }

    /// <inheritdoc/>
    public void Recurrent(in RecurrentBatch<TState> batch)
    {
        var n = batch.Count;
        Span<bool> terminal = n <= 1024 ? stackalloc bool[n] : new bool[n];
        for (var row = 0; row < n; row++)
        {
            var root = batch.Roots[row];
            var action = batch.Actions[row];
            var valid = batch.ValidActionsOf(row);
            if (action == HaltAction)
            {
                _states[row] = batch.Embeddings[row];
                terminal[row] = true;
            }
            else
            {
                var step = Environment(root).Step(batch.Embeddings[row], action);
                _states[row] = step.Next;
                terminal[row] = step.Terminated;
                if (!step.Terminated)
                {
                    valid.Clear();
                    Environment(root).LegalActions(step.Next, valid[..EnvironmentActions]);
                    valid[HaltAction] = true;
                }
            }
            batch.NextEmbeddings[row] = _states[row];
            batch.PriorLogitsOf(row)[HaltAction] = HaltPriorLogit;
            if (terminal[row])
            {
                valid.Clear();
            }
        }

        EvaluateRuns(batch.Roots, n);

        var scale = 1f / (1f - Discount);
        for (var row = 0; row < n; row++)
        {
            var v = (float)_values[row];
            if (terminal[row])
            {
                batch.Rewards[row] = scale * v;
                batch.Discounts[row] = 0f;
                batch.Values[row] = 0f;
            }
            else
            {
                batch.Rewards[row] = v;
                batch.Discounts[row] = Discount;
                batch.Values[row] = scale * v;
            }
        }
    }

    /// <summary>Values _states[0..n) into _values, one call per run of consecutive rows whose roots share an evaluator.</summary>
    private void EvaluateRuns(ReadOnlySpan<int> roots, int n)
    {
        var start = 0;
        while (start < n)
        {
            var evaluator = Evaluator(roots.IsEmpty ? start : roots[start]);
            var end = start + 1;
            while (end < n && ReferenceEquals(Evaluator(roots.IsEmpty ? end : roots[end]), evaluator))
            {
                end++;
            }
            evaluator.Evaluate(_states.AsSpan(start, end - start), _values.AsSpan(start, end - start));
            start = end;
        }
    }

    private IEnvironment<TState> Environment(int root) =>
        _environments[root] ?? throw new InvalidOperationException($"root {root} is not bound to an environment");

    private IStateEvaluator<TState> Evaluator(int root) =>
        _evaluators[root] ?? throw new InvalidOperationException($"root {root} is not bound to an objective");
}
