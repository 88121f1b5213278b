using System.Collections.Immutable;
using Telos.Environments;

namespace Telos.Objectives;

/// <summary>The declared form of an objective; each form enforces its constraint by construction.</summary>
public enum ObjectiveForm
{
    /// <summary>b + Σ w·φ over named features.</summary>
    Linear,

    /// <summary>Linear with most weights exactly zero (L1 path or top-k); the card lists the survivors.</summary>
    Sparse,

    /// <summary>Linear with a declared sign per feature, enforced by softplus parameterization.</summary>
    Monotone,

    /// <summary>Input-convex network over continuous features (Amos et al. 2017).</summary>
    Convex,

    /// <summary>Linear base U plus potential shaping γΦ(s′) − Φ(s), Φ linear, Φ = 0 on terminal states.</summary>
    Shaped,

    /// <summary>Free network over one-hot observations: the opaque baseline.</summary>
    Net,
}

/// <summary>Where an objective came from.</summary>
/// <param name="Signal">reward, goal, prefs, demos, td, edit or manual.</param>
/// <param name="On">The task distribution the data came from, e.g. maze/train; empty if none.</param>
/// <param name="DataHash">SHA-256 (hex, first 16 chars) of the training data; empty if none.</param>
/// <param name="TrainingSteps">Optimizer steps taken.</param>
/// <param name="Seed">The root seed of the training run.</param>
/// <param name="Fit">Fit metrics by name (mse, r2, accuracy, ...), in a stable order.</param>
public sealed record Provenance(string Signal, string On, string DataHash, long TrainingSteps, long Seed, ImmutableSortedDictionary<string, double> Fit)
{
    /// <summary>An objective written by hand.</summary>
    public static Provenance Manual { get; } = new("manual", "", "", 0, 0, ImmutableSortedDictionary<string, double>.Empty);
}

/// <summary>The architecture of a neural form, enough to rebuild it before loading weights.</summary>
/// <param name="Input">"features" (reads <see cref="ObjectiveCard.Features"/>) or "observation" (one-hot C×H×W).</param>
/// <param name="Hidden">Widths of the hidden layers.</param>
/// <param name="Observation">C×H×W for observation inputs; null otherwise.</param>
public sealed record NetworkSpec(string Input, ImmutableArray<int> Hidden, ObservationShape? Observation);

/// <summary>One feature's share of V(s): <see cref="Weight"/>·<see cref="Value"/>.</summary>
public readonly record struct FeatureContribution(string Feature, double Weight, double Value, double Contribution);

/// <summary>
/// The readable description of an objective: form, named parameters, provenance, revision and
/// history. Immutable; every edit returns a new card with <see cref="Revision"/> + 1 and a line
/// appended to <see cref="History"/>. Neural forms keep their tensors in a safetensors file named
/// by <see cref="WeightsFile"/> (relative to the card) and checked against <see cref="WeightsSha256"/>.
/// </summary>
public sealed record ObjectiveCard
{
    /// <summary>The card file format this code writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The form.</summary>
    public required ObjectiveForm Form { get; init; }

    /// <summary>The feature names the objective reads, in column order, [F].</summary>
    public required ImmutableArray<string> Features { get; init; }

    /// <summary>Linear weights, one per feature (the base U for <see cref="ObjectiveForm.Shaped"/>); empty for convex and net forms.</summary>
    public ImmutableArray<double> Weights { get; init; } = [];

    /// <summary>The constant term of the linear part.</summary>
    public double Bias { get; init; }

    /// <summary>Monotone form: the declared sign per feature (+1, −1, or 0 = free); empty otherwise.</summary>
    public ImmutableArray<int> Signs { get; init; } = [];

    /// <summary>Shaped form: linear potential Φ weights, one per feature; empty otherwise.</summary>
    public ImmutableArray<double> Potential { get; init; } = [];

    /// <summary>Shaped form: the discount γ of the shaping term.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>Hinge penalties added by edits.</summary>
    public ImmutableArray<PenaltyTerm> Penalties { get; init; } = [];

    /// <summary>Features whose weights training signals must not change.</summary>
    public ImmutableArray<string> FrozenFeatures { get; init; } = [];

    /// <summary>When true, training signals refuse to update this objective at all.</summary>
    public bool Frozen { get; init; }

    /// <summary>Neural forms: the architecture.</summary>
    public NetworkSpec? Network { get; init; }

    /// <summary>Neural forms: the safetensors file, relative to the card's folder.</summary>
    public string? WeightsFile { get; init; }

    /// <summary>Neural forms: SHA-256 (hex) of <see cref="WeightsFile"/>.</summary>
    public string? WeightsSha256 { get; init; }

    /// <summary>Where the objective came from.</summary>
    public Provenance Provenance { get; init; } = Provenance.Manual;

    /// <summary>0 when trained; +1 per edit.</summary>
    public int Revision { get; init; }

    /// <summary>Edits applied since training, oldest first.</summary>
    public ImmutableArray<string> History { get; init; } = [];

    /// <summary>Whether the objective is a dot product over features (compiles without TorchSharp).</summary>
    public bool IsLinear => Form is ObjectiveForm.Linear or ObjectiveForm.Sparse or ObjectiveForm.Monotone or ObjectiveForm.Shaped;

    /// <summary>The schema of <see cref="Features"/>.</summary>
    public FeatureSchema Schema => new(Features);

    /// <summary>Features with a non-zero weight (what a sparse card keeps), in column order.</summary>
    public IEnumerable<string> SurvivingFeatures => Features.Where((_, i) => i < Weights.Length && Weights[i] != 0.0);

    /// <summary>A linear card from named weights (feature order = order given).</summary>
    public static ObjectiveCard Linear(IEnumerable<KeyValuePair<string, double>> weights, double bias = 0.0, Provenance? provenance = null)
    {
        var pairs = weights.ToArray();
        var card = new ObjectiveCard
        {
            Form = ObjectiveForm.Linear,
            Features = [.. pairs.Select(p => p.Key)],
            Weights = [.. pairs.Select(p => p.Value)],
            Bias = bias,
            Provenance = provenance ?? Provenance.Manual,
        };
        card.Validate("card");
        return card;
    }

    /// <summary>The weight of <paramref name="feature"/>.</summary>
    /// <exception cref="TelosInputException">No such feature, or the form has no named weights.</exception>
    public double Weight(string feature) => Weights[RequireWeightIndex(feature)];

    /// <summary>Per-feature contributions to V at one state's features (in <see cref="Features"/> order), largest magnitude first.</summary>
    /// <exception cref="TelosInputException">The form has no named weights.</exception>
    public IReadOnlyList<FeatureContribution> Contributions(ReadOnlySpan<double> features)
    {
        RequireLinear("per-feature contributions");
        ObjectiveShapes.Check(features.Length, 1, Features.Length);
        var list = new List<FeatureContribution>(Features.Length);
        for (var i = 0; i < Features.Length; i++)
        {
            list.Add(new FeatureContribution(Features[i], Weights[i], features[i], Weights[i] * features[i]));
        }
        foreach (var p in Penalties)
        {
            var i = Features.IndexOf(p.Feature);
            list.Add(new FeatureContribution($"penalty({p.Feature}>{p.Above})", -p.Weight, features[i], -p.Cost(features[i])));
        }
        return list.OrderByDescending(c => Math.Abs(c.Contribution)).ThenBy(c => c.Feature, StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Compiles the state part to a managed evaluator over <see cref="Features"/>: the dot product
    /// plus penalties. For <see cref="ObjectiveForm.Shaped"/> this is the base U.
    /// </summary>
    /// <exception cref="TelosInputException">A neural form (load it through Telos.Learning instead).</exception>
    public ICompiledObjective Compile()
    {
        RequireLinear("managed compilation");
        ICompiledObjective linear = new CompiledLinearObjective(Schema, Weights.AsSpan(), Bias);
        return Penalties.IsEmpty ? linear : new PenalizedObjective(linear, Penalties);
    }

    /// <summary>The transition reward: shaped cards give U(s′) + γΦ′(s′) − Φ′(s), others V(s′).</summary>
    public ITransitionObjective CompileTransition() => Form == ObjectiveForm.Shaped
        ? new ShapedObjective(Compile(), new CompiledLinearObjective(Schema, Potential.AsSpan()), Gamma)
        : new ArrivalReward(Compile());

    /// <summary>
    /// The card as readable text: form, revision, provenance and fit, then the named weights by
    /// magnitude (with signs and potentials where the form has them), penalties and edit history.
    /// </summary>
    public string Describe()
    {
        static string F(double x) => x.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
        var text = new System.Text.StringBuilder();
        text.AppendLine($"objective: {FormName(Form)} (revision {Revision}{(Frozen ? ", frozen" : "")})");
        text.AppendLine($"  provenance: signal {Provenance.Signal}{(Provenance.On.Length > 0 ? $" on {Provenance.On}" : "")}, {Provenance.TrainingSteps} steps, seed {Provenance.Seed}{(Provenance.DataHash.Length > 0 ? $", data {Provenance.DataHash}" : "")}");
        if (!Provenance.Fit.IsEmpty)
        {
            text.AppendLine($"  fit: {string.Join(", ", Provenance.Fit.Select(kv => $"{kv.Key} {F(kv.Value)}"))}");
        }
        if (IsLinear)
        {
            var width = Features.Max(f => f.Length);
            foreach (var i in Enumerable.Range(0, Features.Length).OrderByDescending(i => Math.Abs(Weights[i])).ThenBy(i => i))
            {
                var extra = Form switch
                {
                    ObjectiveForm.Monotone => Signs[i] switch { 1 => "  (sign +)", -1 => "  (sign -)", _ => "  (free)" },
                    ObjectiveForm.Shaped => $"  potential {F(Potential[i])}",
                    _ => "",
                };
                var frozen = FrozenFeatures.Contains(Features[i]) ? "  [frozen]" : "";
                text.AppendLine($"  {Features[i].PadRight(width)}  {F(Weights[i]),10}{extra}{frozen}");
            }
            text.AppendLine($"  {"bias".PadRight(width)}  {F(Bias),10}");
        }
        else if (Network is { } net)
        {
            text.AppendLine($"  network over {net.Input}: hidden [{string.Join(", ", net.Hidden)}], weights {WeightsFile ?? "(not saved)"}");
        }
        foreach (var p in Penalties)
        {
            text.AppendLine($"  penalty: -{F(p.Weight)}*max(0, {p.Feature} - {F(p.Above)})");
        }
        foreach (var h in History)
        {
            text.AppendLine($"  edit: {h}");
        }
        return text.ToString();
    }

    /// <summary>Checks internal consistency; throws one line naming <paramref name="source"/> and the field.</summary>
    /// <exception cref="TelosInputException">Something is inconsistent or not finite.</exception>
    public void Validate(string source)
    {
        if (Features.IsDefaultOrEmpty)
        {
            throw new TelosInputException($"{source}: 'features' is empty");
        }
        try
        {
            _ = new FeatureSchema(Features);
        }
        catch (ArgumentException e)
        {
            throw new TelosInputException($"{source}: 'features': {e.Message.Split(" (Parameter")[0]}");
        }
        if (IsLinear && Weights.Length != Features.Length)
        {
            throw new TelosInputException($"{source}: form '{FormName(Form)}' needs {Features.Length} weights (one per feature), found {Weights.Length}");
        }
        if (!IsLinear && Network is null)
        {
            throw new TelosInputException($"{source}: form '{FormName(Form)}' needs a 'network' section");
        }
        for (var i = 0; i < Weights.Length; i++)
        {
            RequireFinite(source, $"weights.{Features[i]}", Weights[i]);
        }
        RequireFinite(source, "bias", Bias);
        if (Form == ObjectiveForm.Monotone)
        {
            if (Signs.Length != Features.Length)
            {
                throw new TelosInputException($"{source}: form 'monotone' needs one sign per feature, found {Signs.Length}");
            }
            for (var i = 0; i < Signs.Length; i++)
            {
                if (Signs[i] is < -1 or > 1)
                {
                    throw new TelosInputException($"{source}: 'signs.{Features[i]}' is {Signs[i]}; expected -1, 0 or 1");
                }
                if (Signs[i] != 0 && Weights[i] * Signs[i] < 0)
                {
                    throw new TelosInputException($"{source}: weight of '{Features[i]}' is {Weights[i]} but its declared sign is {Signs[i]:+0;-0}");
                }
            }
        }
        if (Form == ObjectiveForm.Shaped)
        {
            if (Potential.Length != Features.Length)
            {
                throw new TelosInputException($"{source}: form 'shaped' needs {Features.Length} potential weights, found {Potential.Length}");
            }
            for (var i = 0; i < Potential.Length; i++)
            {
                RequireFinite(source, $"potential.{Features[i]}", Potential[i]);
            }
            if (!(Gamma >= 0 && Gamma <= 1))
            {
                throw new TelosInputException($"{source}: 'gamma' is {Gamma}; expected a number in [0, 1]");
            }
        }
        foreach (var p in Penalties)
        {
            if (Features.IndexOf(p.Feature) < 0)
            {
                throw new TelosInputException($"{source}: penalty on unknown feature '{p.Feature}'; known features: {string.Join(", ", Features)}");
            }
            RequireFinite(source, $"penalties.{p.Feature}.weight", p.Weight);
            RequireFinite(source, $"penalties.{p.Feature}.above", p.Above);
        }
        foreach (var f in FrozenFeatures)
        {
            if (Features.IndexOf(f) < 0)
            {
                throw new TelosInputException($"{source}: frozen feature '{f}' is not a feature of this objective");
            }
        }
        foreach (var (k, v) in Provenance.Fit)
        {
            RequireFinite(source, $"provenance.fit.{k}", v);
        }
    }

    /// <summary>Lower-case form name used in files and on the command line.</summary>
    public static string FormName(ObjectiveForm form) => form.ToString().ToLowerInvariant();

    /// <summary>Parses a form name (linear, sparse, monotone, convex, shaped, net).</summary>
    /// <exception cref="TelosInputException">Unknown name.</exception>
    public static ObjectiveForm ParseForm(string name, string where = "form")
    {
        foreach (var form in Enum.GetValues<ObjectiveForm>())
        {
            if (FormName(form) == name)
            {
                return form;
            }
        }
        throw new TelosInputException($"{where}: unknown form '{name}'; expected one of {string.Join(", ", Enum.GetValues<ObjectiveForm>().Select(FormName))}");
    }

    internal int RequireWeightIndex(string feature)
    {
        RequireLinear("named weights");
        var i = Features.IndexOf(feature);
        if (i < 0)
        {
            throw new TelosInputException($"unknown feature '{feature}'; known features: {string.Join(", ", Features)}");
        }
        return i;
    }

    internal void RequireLinear(string what)
    {
        if (!IsLinear)
        {
            throw new TelosInputException($"form '{FormName(Form)}' has no {what} (it is a network); use a penalty edit or load it through Telos.Learning");
        }
    }

    private static void RequireFinite(string source, string field, double value)
    {
        if (!double.IsFinite(value))
        {
            throw new TelosInputException($"{source}: '{field}' is {value}; weights must be finite numbers");
        }
    }
}
