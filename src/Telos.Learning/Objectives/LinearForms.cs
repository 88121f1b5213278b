using System.Collections.Immutable;
using Telos.Objectives;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Objectives;

/// <summary>Linear form V(x) = b + w·x over named features.</summary>
public sealed class LinearObjectiveForm : TrainableObjective
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    /// <param name="features">Feature names, F.</param>
    /// <param name="initial">Optional starting weights [F] (e.g. a card being regressed toward a goal).</param>
    /// <param name="initialBias">Starting bias.</param>
    public LinearObjectiveForm(ImmutableArray<string> features, ReadOnlySpan<double> initial = default, double initialBias = 0.0)
        : base("linear", features)
    {
        weight = new Parameter(initial.IsEmpty ? zeros(features.Length, dtype: ScalarType.Float64) : tensor(initial.ToArray(), ScalarType.Float64));
        bias = new Parameter(tensor(new[] { initialBias }, ScalarType.Float64));
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Linear;

    /// <summary>w, [F].</summary>
    public Tensor Weight => weight;

    public override Tensor forward(Tensor x) => (x * weight).sum(1) + bias;

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => ZeroGradAt(weight, frozenColumns);

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Linear,
        Features = Features,
        Weights = Values(weight),
        Bias = bias.item<double>(),
        Provenance = provenance,
    };

    internal static void ZeroGradAt(Tensor parameter, IReadOnlyList<int> columns)
    {
        if (columns.Count == 0 || parameter.grad is not { } grad)
        {
            return;
        }
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            grad.index_fill_(0, tensor(columns.Select(c => (long)c).ToArray()), 0.0);
        }
    }
}

/// <summary>
/// Sparse linear form: V(x) = b + (m ⊙ w)·x with a fixed 0/1 mask m, so pruned weights are exactly
/// zero whatever the optimizer does. Trained in two phases (ObjectiveSignals.FitSparse):
/// an L1 fit over all features, then top-k pruning and a refit of the survivors.
/// </summary>
public sealed class SparseObjectiveForm : TrainableObjective
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor mask;

    /// <param name="features">Feature names, F.</param>
    /// <param name="l1">L1 coefficient λ in the loss λ·Σ|wᵢ| during the selection phase.</param>
    public SparseObjectiveForm(ImmutableArray<string> features, double l1 = 0.01)
        : base("sparse", features)
    {
        weight = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        bias = new Parameter(zeros(1, dtype: ScalarType.Float64));
        mask = ones(features.Length, dtype: ScalarType.Float64);
        register_buffer("mask", mask);
        L1 = l1;
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Sparse;

    /// <summary>λ of the L1 term; set to 0 for the refit phase.</summary>
    public double L1 { get; set; }

    /// <summary>The effective weights m ⊙ w, [F].</summary>
    public Tensor EffectiveWeight => weight * mask;

    public override Tensor forward(Tensor x) => (x * (weight * mask)).sum(1) + bias;

    public override Tensor Regularizer() => (weight * mask).abs().sum() * L1;

    /// <summary>Keeps the <paramref name="k"/> weights of largest magnitude (ties by column) and masks the rest to zero.</summary>
    public void KeepTop(int k)
    {
        using var scope = NewDisposeScope();
        var magnitude = ToArray((weight * mask).abs());
        var keep = magnitude.Select((m, i) => (m, i)).OrderByDescending(p => p.m).ThenBy(p => p.i).Take(Math.Clamp(k, 0, magnitude.Length)).Select(p => p.i).ToHashSet();
        using (no_grad())
        {
            for (var i = 0; i < magnitude.Length; i++)
            {
                mask[i] = keep.Contains(i) ? 1.0 : 0.0;
                if (!keep.Contains(i))
                {
                    weight[i] = 0.0;
                }
            }
        }
    }

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => LinearObjectiveForm.ZeroGradAt(weight, frozenColumns);

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Sparse,
        Features = Features,
        Weights = Values(weight * mask),
        Bias = bias.item<double>(),
        Provenance = provenance,
    };
}

/// <summary>
/// Monotone linear form: each feature has a declared sign sᵢ ∈ {+1, −1, 0}; wᵢ = sᵢ·softplus(uᵢ)
/// for sᵢ ≠ 0 (so wᵢ has sign sᵢ or is 0 for any u) and wᵢ = uᵢ for free features. V is then
/// non-decreasing in every +1 feature and non-increasing in every −1 feature, by construction.
/// </summary>
public sealed class MonotoneObjectiveForm : TrainableObjective
{
    private readonly Parameter raw;
    private readonly Parameter bias;
    private readonly Tensor signs;
    private readonly Tensor constrained;

    /// <param name="features">Feature names, F.</param>
    /// <param name="declaredSigns">[F] +1, −1 or 0 (free).</param>
    public MonotoneObjectiveForm(ImmutableArray<string> features, ReadOnlySpan<int> declaredSigns)
        : base("monotone", features)
    {
        if (declaredSigns.Length != features.Length || declaredSigns.ToArray().Any(s => s is < -1 or > 1))
        {
            throw new TelosInputException($"monotone form needs one sign (-1, 0 or 1) per feature ({features.Length}), got {declaredSigns.Length}");
        }
        Signs = [.. declaredSigns];
        raw = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        bias = new Parameter(zeros(1, dtype: ScalarType.Float64));
        signs = tensor(Signs.Select(s => (double)s).ToArray(), ScalarType.Float64);
        constrained = signs.abs();
        register_buffer("signs", signs);
        register_buffer("constrained", constrained);
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Monotone;

    /// <summary>Declared signs, [F].</summary>
    public ImmutableArray<int> Signs { get; }

    /// <summary>The weights w = s·softplus(u) (constrained) or u (free), [F].</summary>
    public Tensor EffectiveWeight => constrained * signs * nn.functional.softplus(raw) + (1.0 - constrained) * raw;

    public override Tensor forward(Tensor x) => (x * EffectiveWeight).sum(1) + bias;

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => LinearObjectiveForm.ZeroGradAt(raw, frozenColumns);

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Monotone,
        Features = Features,
        Weights = Values(EffectiveWeight),
        Bias = bias.item<double>(),
        Signs = Signs,
        Provenance = provenance,
    };
}

/// <summary>
/// Potential-shaped form: R(s, s′) = U(s′) + γ(1 − d′)Φ(s′) − (1 − d)Φ(s) with U and Φ linear in
/// the features and Φ = 0 on terminal states, so the optimal policy under R is the one under U
/// (Ng et al. 1999). <see cref="forward"/> is U.
/// </summary>
public sealed class ShapedObjectiveForm : TrainableObjective
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Parameter potential;

    /// <param name="features">Feature names, F.</param>
    /// <param name="gamma">γ of the shaping term.</param>
    public ShapedObjectiveForm(ImmutableArray<string> features, double gamma)
        : base("shaped", features)
    {
        Gamma = gamma;
        weight = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        bias = new Parameter(zeros(1, dtype: ScalarType.Float64));
        potential = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Shaped;

    /// <summary>γ.</summary>
    public double Gamma { get; }

    /// <summary>Φ weights, [F].</summary>
    public Tensor Potential => potential;

    public override Tensor forward(Tensor x) => (x * weight).sum(1) + bias;

    public override Tensor Reward(Tensor from, Tensor fromTerminal, Tensor to, Tensor toTerminal) =>
        forward(to) + Gamma * (1.0 - toTerminal) * (to * potential).sum(1) - (1.0 - fromTerminal) * (from * potential).sum(1);

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => LinearObjectiveForm.ZeroGradAt(weight, frozenColumns);

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Shaped,
        Features = Features,
        Weights = Values(weight),
        Bias = bias.item<double>(),
        Potential = Values(potential),
        Gamma = Gamma,
        Provenance = provenance,
    };
}
