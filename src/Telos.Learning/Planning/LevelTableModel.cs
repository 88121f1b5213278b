using Telos.Environments;
using Telos.Learning.Reinforcement.Policies;
using Telos.Planning.Search;
using static TorchSharp.torch;

namespace Telos.Learning.Planning;

/// <summary>A search node's embedding when the roots of one batch play different levels: the state and the index of its level in a <see cref="LevelTableModel{TState}"/>.</summary>
/// <param name="Level">Index into <see cref="LevelTableModel{TState}.Levels"/>.</param>
/// <param name="State">The level's state.</param>
/// <param name="Slot">The node's row in a <see cref="RecurrentPolicyLeaves{TState}"/>'s state pool (a recurrent network's state after this node); 0 and unused for a feed-forward network.</param>
public readonly record struct LevelState<TState>(int Level, TState State, int Slot = 0)
    where TState : struct;

/// <summary>
/// The true model of many levels at once, for a batched search whose roots play different levels (one per
/// environment or agent lane): each row steps with its embedding's level's own pure
/// <see cref="IEnvironment{TState}.Step"/>. Reward is the environment's; discount is γ, or 0 after a
/// terminal step, whose node then has no legal action. Priors and values are left at their defaults
/// (uniform, 0): wrap the table in a <see cref="NeuralLeafModel{TEmbedding}"/>, which it also serves as the
/// feature writer of (each state's one-hot observation, written by its level).
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
public sealed class LevelTableModel<TState> : IRecurrentModel<LevelState<TState>>, IEmbeddingFeatures<LevelState<TState>>
    where TState : struct
{
    private readonly float _discount;

    /// <summary>A table of <paramref name="count"/> level slots (all empty until set) for observations of <paramref name="observation"/>.</summary>
    /// <param name="count">Slots, ≥ 1.</param>
    /// <param name="observation">The observation shape every level must have.</param>
    /// <param name="discount">γ in [0, 1].</param>
    public LevelTableModel(int count, ObservationShape observation, float discount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (!(discount is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(discount), discount, "must be in [0, 1]");
        }
        Levels = new IEnvironment<TState>?[count];
        Observation = observation;
        _discount = discount;
    }

    /// <summary>The level of each slot; the caller sets slot i before searching a root whose embedding names it.</summary>
    public IEnvironment<TState>?[] Levels { get; }

    /// <summary>The observation shape.</summary>
    public ObservationShape Observation { get; }

    /// <summary>γ.</summary>
    public float Discount => _discount;

    /// <inheritdoc/>
    public int FeatureCount => Observation.Size;

    /// <inheritdoc/>
    public void Write(in LevelState<TState> embedding, Span<float> features) => LevelOf(embedding).WriteObservation(embedding.State, features);

    /// <summary>Writes the legal actions of <paramref name="embedding"/> (length A).</summary>
    public void LegalActions(in LevelState<TState> embedding, Span<bool> legal) => LevelOf(embedding).LegalActions(embedding.State, legal);

    /// <inheritdoc/>
    public void Recurrent(in RecurrentBatch<LevelState<TState>> batch)
    {
        for (var row = 0; row < batch.Count; row++)
        {
            var parent = batch.Embeddings[row];
            var level = LevelOf(parent);
            var step = level.Step(parent.State, batch.Actions[row]);
            batch.NextEmbeddings[row] = new LevelState<TState>(parent.Level, step.Next);
            batch.Rewards[row] = step.Reward;
            var valid = batch.ValidActionsOf(row);
            if (step.Terminated)
            {
                batch.Discounts[row] = 0f;
                valid.Clear();
                continue;
            }
            batch.Discounts[row] = _discount;
            level.LegalActions(step.Next, valid);
        }
    }

    private IEnvironment<TState> LevelOf(in LevelState<TState> embedding) =>
        Levels[embedding.Level] ?? throw new InvalidOperationException($"level slot {embedding.Level} is empty");
}

/// <summary>
/// A feed-forward <see cref="ActorCritic"/> as the prior/value module of a <see cref="NeuralLeafModel{TEmbedding}"/>:
/// rows of flattened one-hot observations <c>[n, C·H·W]</c> → (its logits <c>[n, A]</c>, its values <c>[n]</c>),
/// one forward pass for the whole wave. The policy is shared, not owned, and not registered as a child
/// module (so the leaf model's <c>eval()</c> leaves its training mode alone).
/// </summary>
public sealed class ActorCriticPriorValue : nn.Module<Tensor, (Tensor Logits, Tensor Value)>
{
    private readonly ActorCritic _policy;

    /// <summary>Wraps <paramref name="policy"/>.</summary>
    /// <exception cref="ArgumentException">The policy is recurrent (a search node would need its state).</exception>
    public ActorCriticPriorValue(ActorCritic policy)
        : base(nameof(ActorCriticPriorValue))
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.StateSize != 0)
        {
            throw new ArgumentException($"{policy.GetType().Name} is recurrent (state size {policy.StateSize}); the search's leaves take a feed-forward policy", nameof(policy));
        }
        _policy = policy;
    }

    /// <summary>F = C·H·W.</summary>
    public int Features => _policy.Observation.Size;

    /// <summary>A.</summary>
    public int Actions => _policy.Actions;

    /// <summary>The wrapped policy.</summary>
    public ActorCritic Policy => _policy;

    /// <inheritdoc/>
    public override (Tensor Logits, Tensor Value) forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _policy.Observation;
        var n = input.shape[0];
        var output = _policy.Unroll(input.view(1, n, o.Channels, o.Height, o.Width), _policy.InitialState(n), zeros(1, n));
        return (output.Logits[0], output.Values[0]);
    }
}
