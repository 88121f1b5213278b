using System.Collections.Immutable;
using Telos.Objectives;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Objectives;

/// <summary>Linear form V(x) = b + w·x over named features.</summary>
public sealed class LinearObjectiveForm : TrainableObjective
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;
    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    /// <param name="features">Feature names, F.</param>
    /// <param name="initial">Optional starting weights [F] (e.g. a card being regressed toward a goal).</param>
    /// <param name="initialBias">Starting bias.</param>
    public LinearObjectiveForm(ImmutableArray<string> features, ReadOnlySpan<double> initial = default, double initialBias = 0.0)
        : base("linear", features)
    {
        _weight = new Parameter(initial.IsEmpty ? zeros(features.Length, dtype: ScalarType.Float64) : tensor(initial.ToArray(), ScalarType.Float64));
        _bias = new Parameter(tensor(new[] { initialBias }, ScalarType.Float64));
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Linear;

    /// <summary>w, [F].</summary>
    public Tensor Weight => _weight;

    public override Tensor forward(Tensor x) => (x * _weight).sum(1) + _bias;

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => ZeroGradAt(_weight, frozenColumns);

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Linear,
        Features = Features,
        Weights = Values(_weight),
        Bias = _bias.item<double>(),
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
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;
    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;
    [ComponentName(Name = "mask")]
    private readonly Tensor _mask;

    /// <param name="features">Feature names, F.</param>
    /// <param name="l1">L1 coefficient λ in the loss λ·Σ|wᵢ| during the selection phase.</param>
    public SparseObjectiveForm(ImmutableArray<string> features, double l1 = 0.01)
        : base("sparse", features)
    {
        _weight = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        _bias = new Parameter(zeros(1, dtype: ScalarType.Float64));
        _mask = ones(features.Length, dtype: ScalarType.Float64);
        register_buffer("mask", _mask);
        L1 = l1;
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Sparse;

    /// <summary>λ of the L1 term; set to 0 for the refit phase.</summary>
    public double L1 { get; set; }

    /// <summary>The effective weights m ⊙ w, [F].</summary>
    public Tensor EffectiveWeight => _weight * _mask;

    public override Tensor forward(Tensor x) => (x * (_weight * _mask)).sum(1) + _bias;

    public override Tensor Regularizer() => (_weight * _mask).abs().sum() * L1;

    /// <summary>Keeps the <paramref name="k"/> weights of largest magnitude (ties by column) and masks the rest to zero.</summary>
    public void KeepTop(int k)
    {
        using var scope = NewDisposeScope();
        var magnitude = ToArray((_weight * _mask).abs());
        var keep = magnitude.Select((m, i) => (m, i)).OrderByDescending(p => p.m).ThenBy(p => p.i).Take(Math.Clamp(k, 0, magnitude.Length)).Select(p => p.i).ToHashSet();
        using (no_grad())
        {
            for (var i = 0; i < magnitude.Length; i++)
            {
                _mask[i] = keep.Contains(i) ? 1.0 : 0.0;
                if (!keep.Contains(i))
                {
                    _weight[i] = 0.0;
                }
            }
        }
    }

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => LinearObjectiveForm.ZeroGradAt(_weight, frozenColumns);

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Sparse,
        Features = Features,
        Weights = Values(_weight * _mask),
        Bias = _bias.item<double>(),
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
    [ComponentName(Name = "raw")]
    private readonly Parameter _raw;
    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;
    [ComponentName(Name = "signs")]
    private readonly Tensor _signs;
    [ComponentName(Name = "constrained")]
    private readonly Tensor _constrained;

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
        _raw = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        _bias = new Parameter(zeros(1, dtype: ScalarType.Float64));
        _signs = tensor(Signs.Select(s => (double)s).ToArray(), ScalarType.Float64);
        _constrained = _signs.abs();
        register_buffer("signs", _signs);
        register_buffer("constrained", _constrained);
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Monotone;

    /// <summary>Declared signs, [F].</summary>
    public ImmutableArray<int> Signs { get; }

    /// <summary>The weights w = s·softplus(u) (constrained) or u (free), [F].</summary>
    public Tensor EffectiveWeight => _constrained * _signs * nn.functional.softplus(_raw) + (1.0 - _constrained) * _raw;

    public override Tensor forward(Tensor x) => (x * EffectiveWeight).sum(1) + _bias;

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => LinearObjectiveForm.ZeroGradAt(_raw, frozenColumns);

    /// <summary>
    /// Sets the parameters so the effective weights are <paramref name="weights"/> (each must have
    /// its declared sign; 0 maps to u = −40, softplus ≈ 4·10⁻¹⁸) and the bias is <paramref name="biasValue"/>.
    /// </summary>
    public void SetWeights(ReadOnlySpan<double> weights, double biasValue)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            for (var i = 0; i < weights.Length; i++)
            {
                var w = Math.Abs(weights[i]);
                // Inverse softplus: u = log(exp(w) − 1) = w + log(1 − exp(−w)).
                _raw[i] = Signs[i] == 0 ? weights[i] : w > 0 ? w + Math.Log(-double.ExpM1(-w)) : -40.0;
            }
            _bias.fill_(biasValue);
        }
    }

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Monotone,
        Features = Features,
        Weights = Values(EffectiveWeight),
        Bias = _bias.item<double>(),
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
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;
    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;
    [ComponentName(Name = "potential")]
    private readonly Parameter _potential;

    /// <param name="features">Feature names, F.</param>
    /// <param name="gamma">γ of the shaping term.</param>
    public ShapedObjectiveForm(ImmutableArray<string> features, double gamma)
        : base("shaped", features)
    {
        Gamma = gamma;
        _weight = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        _bias = new Parameter(zeros(1, dtype: ScalarType.Float64));
        _potential = new Parameter(zeros(features.Length, dtype: ScalarType.Float64));
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Shaped;

    /// <summary>γ.</summary>
    public double Gamma { get; }

    /// <summary>Φ weights, [F].</summary>
    public Tensor Potential => _potential;

    public override Tensor forward(Tensor x) => (x * _weight).sum(1) + _bias;

    public override Tensor Reward(Tensor from, Tensor fromTerminal, Tensor to, Tensor toTerminal) =>
        forward(to) + Gamma * (1.0 - toTerminal) * (to * _potential).sum(1) - (1.0 - fromTerminal) * (from * _potential).sum(1);

    public override void MaskGradients(IReadOnlyList<int> frozenColumns) => LinearObjectiveForm.ZeroGradAt(_weight, frozenColumns);

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Shaped,
        Features = Features,
        Weights = Values(_weight),
        Bias = _bias.item<double>(),
        Potential = Values(_potential),
        Gamma = Gamma,
        Provenance = provenance,
    };
}
