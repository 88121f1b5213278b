namespace Telos.Planning.Search;

/// <summary>
/// How a <see cref="BatchedSearch{TEmbedding}"/> selects actions and turns the root statistics
/// into an action and a policy target. One of <see cref="UctPolicy"/>, <see cref="PuctPolicy"/>,
/// <see cref="GumbelPolicy"/>; each carries its hyperparameters with the published defaults.
/// </summary>
public abstract record SearchPolicy
{
    private protected SearchPolicy()
    {
    }

    /// <summary>The planner name used in benchmarks and traces: "uct", "puct" or "gumbel".</summary>
    public abstract string Name { get; }

    /// <summary>The Q-transform every selection rule of this policy uses.</summary>
    public abstract IQTransform QTransform { get; init; }

    internal abstract void Validate();
}

/// <summary>
/// UCT (Kocsis and Szepesvári 2006): argmax over legal actions of Q̃(a) + c·√(ln N / n(a)), unvisited
/// actions first (ties broken randomly). Q̃ is the Q-transform's score (parent-and-siblings min-max
/// by default, so c ≈ √2 suits any reward scale). Leaf values come from the model: the objective at
/// the leaf or a random rollout (<see cref="EnvironmentModel{TState}"/>). The action is the most
/// visited root action (or sampled at <see cref="Temperature"/> &gt; 0); the target is the visit distribution.
/// </summary>
public sealed record UctPolicy : SearchPolicy
{
    /// <inheritdoc/>
    public override string Name => "uct";

    /// <summary>c, the exploration constant.</summary>
    public float Exploration { get; init; } = MathF.Sqrt(2f);

    /// <summary>0 acts greedily on visits; otherwise samples a ∝ N(a)^(1/T).</summary>
    public float Temperature { get; init; }

    /// <inheritdoc/>
    public override IQTransform QTransform { get; init; } = new ParentAndSiblingsQTransform();

    internal override void Validate()
    {
        if (!(Exploration >= 0) || !(Temperature >= 0))
        {
            throw new ArgumentException($"uct: exploration ({Exploration}) and temperature ({Temperature}) must be non-negative");
        }
    }
}

/// <summary>
/// PUCT as in MuZero and mctx <c>muzero_policy</c>: argmax over legal actions of
/// Q̃(a) + √N · (pb_c_init + ln((N + pb_c_base + 1)/pb_c_base)) · P(a)/(1 + n(a)) + 1e-7·U, with
/// Dirichlet(α) noise mixed into the root prior. The action is sampled from the root visit
/// distribution at <see cref="Temperature"/> (0 = most visited); the target is the visit distribution.
/// </summary>
public sealed record PuctPolicy : SearchPolicy
{
    /// <inheritdoc/>
    public override string Name => "puct";

    /// <summary>pb_c_init.</summary>
    public float PbCInit { get; init; } = 1.25f;

    /// <summary>pb_c_base.</summary>
    public float PbCBase { get; init; } = 19652f;

    /// <summary>Share of Dirichlet noise in the root prior (0 disables it).</summary>
    public float DirichletFraction { get; init; } = 0.25f;

    /// <summary>Concentration α of the symmetric Dirichlet noise.</summary>
    public float DirichletAlpha { get; init; } = 0.3f;

    /// <summary>1 samples a ∝ N(a) (mctx's default); 0 acts greedily on visits.</summary>
    public float Temperature { get; init; } = 1f;

    /// <inheritdoc/>
    public override IQTransform QTransform { get; init; } = new ParentAndSiblingsQTransform();

    internal override void Validate()
    {
        if (!(PbCInit >= 0) || !(PbCBase > 0) || !(DirichletFraction is >= 0 and <= 1) || !(DirichletAlpha > 0) || !(Temperature >= 0))
        {
            throw new ArgumentException(
                $"puct: need pb_c_init ≥ 0 ({PbCInit}), pb_c_base > 0 ({PbCBase}), dirichlet fraction in [0, 1] ({DirichletFraction}), alpha > 0 ({DirichletAlpha}), temperature ≥ 0 ({Temperature})");
        }
    }
}

/// <summary>
/// Gumbel MuZero (Danihelka et al. 2022; mctx <c>gumbel_muzero_policy</c>): at the root, Gumbel-top-k
/// over g + logits picks up to <see cref="MaxConsideredActions"/> actions and sequential halving
/// splits the budget among them; interior nodes select deterministically by
/// argmax π'(a) − n(a)/(1 + Σn) with π' = softmax(logits + σ(completed Q)). The action is the
/// argmax of g + logits + σ(completed Q) among the most visited; the policy target is
/// softmax(logits + σ(completed Q)) over legal actions.
/// </summary>
public sealed record GumbelPolicy : SearchPolicy
{
    /// <inheritdoc/>
    public override string Name => "gumbel";

    /// <summary>k, the number of root actions sampled without replacement (16 in the paper).</summary>
    public int MaxConsideredActions { get; init; } = 16;

    /// <summary>Scale of the Gumbel noise (0 gives a deterministic search).</summary>
    public float GumbelScale { get; init; } = 1f;

    /// <inheritdoc/>
    public override IQTransform QTransform { get; init; } = new CompletedByMixValueQTransform();

    internal override void Validate()
    {
        if (MaxConsideredActions < 1 || !(GumbelScale >= 0))
        {
            throw new ArgumentException($"gumbel: need max considered actions ≥ 1 ({MaxConsideredActions}) and gumbel scale ≥ 0 ({GumbelScale})");
        }
    }
}
