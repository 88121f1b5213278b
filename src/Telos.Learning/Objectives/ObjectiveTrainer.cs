using System.Collections.Immutable;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Objectives;

namespace Telos.Learning.Objectives;

/// <summary>Architecture and constraint choices for a new objective of some form.</summary>
/// <param name="Keep">Sparse form: how many features survive (top-k).</param>
/// <param name="L1">Sparse form: L1 coefficient of the selection phase.</param>
/// <param name="Signs">Monotone form: declared sign per feature name (+1 or −1); unnamed features are free.</param>
/// <param name="Hidden">Convex and net forms: hidden widths.</param>
/// <param name="Gamma">Shaped form: γ of the shaping term.</param>
/// <param name="Input">
/// What the form reads; null: its own input (the named features for every form but net, the one-hot observation for net).
/// The linear form over <see cref="ObjectiveInput.Observation"/> is a net without hidden layers (one weight per channel and
/// cell; its card's form is net); the net form over <see cref="ObjectiveInput.Features"/> reads the named features.
/// The other forms read named features only.
/// </param>
public sealed record FormOptions(int Keep = 3, double L1 = 0.01, IReadOnlyDictionary<string, int>? Signs = null, ImmutableArray<int> Hidden = default, double Gamma = 0.99,
    ObjectiveInput? Input = null)
{
    /// <summary>Hidden widths, defaulting to [32, 32].</summary>
    public ImmutableArray<int> HiddenOrDefault => Hidden.IsDefaultOrEmpty ? [32, 32] : Hidden;

    /// <summary>What <paramref name="form"/> reads under these options.</summary>
    /// <exception cref="TelosInputException">A form other than linear or net asked to read observations.</exception>
    public ObjectiveInput InputOf(ObjectiveForm form)
    {
        var input = Input ?? (form == ObjectiveForm.Net ? ObjectiveInput.Observation : ObjectiveInput.Features);
        if (input == ObjectiveInput.Observation && form is not (ObjectiveForm.Linear or ObjectiveForm.Net))
        {
            throw new TelosInputException($"form '{ObjectiveCard.FormName(form)}' reads named features; only the linear and net forms can read the one-hot observation");
        }
        return input;
    }
}

/// <summary>
/// The library API behind <c>telos objective train</c> and the demo: build a form, train it with a
/// signal, get back the card (with provenance) and the module. Deterministic given the seed.
/// </summary>
/// <example>
/// <code>
/// var data = TransitionSample.Collect&lt;MazeState&gt;(s => TaskDistributions.Maze("maze/train", 7).Level(s), 20, 200, seed: 1, uniformStarts: true);
/// var (card, _) = ObjectiveTrainer.FitRewards(ObjectiveForm.Linear, data, "maze/train", new FormOptions(), new TrainingOptions(Seed: 1));
/// Console.WriteLine(ObjectiveCardFile.ToJson(card));
/// </code>
/// </example>
public static class ObjectiveTrainer
{
    /// <summary>A fresh module of <paramref name="form"/> over <paramref name="features"/> (or the observation, <see cref="FormOptions.Input"/>), initialized from <paramref name="seed"/>.</summary>
    /// <exception cref="TelosInputException">An unknown form, or one that cannot read the asked input.</exception>
    public static TrainableObjective Create(ObjectiveForm form, FeatureSchema features, ObservationShape observation, FormOptions options, long seed)
    {
        TorchRuntime.Seed(seed);
        var names = features.Names.ToImmutableArray();
        var input = options.InputOf(form);
        return form switch
        {
            ObjectiveForm.Linear when input == ObjectiveInput.Observation => new NetObjectiveForm(names, observation, [], ObjectiveInput.Observation),
            ObjectiveForm.Linear => new LinearObjectiveForm(names),
            ObjectiveForm.Sparse => new SparseObjectiveForm(names, options.L1),
            ObjectiveForm.Monotone => new MonotoneObjectiveForm(names, SignsOf(names, options.Signs)),
            ObjectiveForm.Convex => new ConvexObjectiveForm(names, options.HiddenOrDefault),
            ObjectiveForm.Shaped => new ShapedObjectiveForm(names, options.Gamma),
            ObjectiveForm.Net => new NetObjectiveForm(names, observation, options.HiddenOrDefault, input),
            _ => throw new TelosInputException($"unknown form {form}"),
        };
    }

    /// <summary>Reward regression on transitions with rewards; <c>on</c> names the distribution the data came from (provenance).</summary>
    public static (ObjectiveCard Card, TrainableObjective Module) FitRewards(ObjectiveForm form, TransitionSample data, string on, FormOptions formOptions, TrainingOptions options)
    {
        var model = Create(form, data.Features, data.ObservationShape ?? default, formOptions, options.Seed);
        var report = model is SparseObjectiveForm sparse
            ? ObjectiveSignals.FitSparse(sparse, data, formOptions.Keep, options)
            : ObjectiveSignals.FitRewards(model, data, options);
        return (model.ToCard(Provenance("reward", on, data.Hash(), report, options.Seed)), model);
    }

    /// <summary>Bradley–Terry preferences over labelled segment pairs.</summary>
    public static (ObjectiveCard Card, TrainableObjective Module) FitPreferences(ObjectiveForm form, PreferencePairs pairs, string on, FormOptions formOptions, TrainingOptions options)
    {
        var model = Create(form, pairs.Segments.Features, pairs.Segments.ObservationShape ?? default, formOptions, options.Seed);
        var report = ObjectiveSignals.FitPreferences(model, pairs, options);
        if (model is SparseObjectiveForm sparse)
        {
            sparse.KeepTop(formOptions.Keep);
            sparse.L1 = 0;
            report = ObjectiveSignals.FitPreferences(model, pairs, options);
        }
        return (model.ToCard(Provenance("prefs", on, pairs.Segments.Hash(), report, options.Seed)), model);
    }

    /// <summary>Bootstrapped TD(λ) values.</summary>
    public static (ObjectiveCard Card, TrainableObjective Module) FitTdLambda(ObjectiveForm form, TransitionSample data, string on, double gamma, double lambda, int rounds, FormOptions formOptions, TrainingOptions options)
    {
        var model = Create(form, data.Features, data.ObservationShape ?? default, formOptions, options.Seed);
        var report = ObjectiveSignals.FitTdLambda(model, data, gamma, lambda, rounds, options);
        return (model.ToCard(Provenance("td", on, data.Hash(), report, options.Seed)), model);
    }

    /// <summary>
    /// Goal regression on an existing objective: move it to the programmer's labels on chosen
    /// states while an anchor keeps it near its current values on <paramref name="anchorStates"/>.
    /// Frozen features (and, for a sparse card, pruned ones) keep their weights; a frozen card is refused.
    /// </summary>
    /// <param name="current">The objective to move.</param>
    /// <param name="labelledStates">[L, F] features (in the card's feature order) of the labelled states.</param>
    /// <param name="labels">[L] the wanted values.</param>
    /// <param name="anchorStates">[M, F] features of states whose values should stay.</param>
    /// <param name="anchorWeight">λ of the anchor term.</param>
    /// <param name="options">Optimizer settings.</param>
    public static ObjectiveCard RegressTowardGoal(LoadedObjective current, double[] labelledStates, double[] labels, double[] anchorStates, double anchorWeight, TrainingOptions options)
    {
        var card = current.Card;
        if (card.Frozen)
        {
            throw new TelosInputException($"{current.Source} is frozen; unfreeze it (edit a copy) before regressing it");
        }
        if (card.Form == ObjectiveForm.Net)
        {
            throw new TelosInputException("goal regression here takes feature states; the net form reads observations");
        }
        var model = current.Module ?? ObjectiveFiles.Build(card);
        var frozen = card.FrozenFeatures.Select(f => card.Features.IndexOf(f)).ToList();
        if (card.Form == ObjectiveForm.Sparse)
        {
            frozen.AddRange(Enumerable.Range(0, card.Features.Length).Where(i => card.Weights[i] == 0.0));
        }
        var report = ObjectiveSignals.FitGoal(model, labelledStates, labels, anchorStates, anchorWeight, options, frozen.Distinct().ToArray());
        var fitted = model.ToCard(Provenance("goal", card.Provenance.On, "", report, options.Seed));
        return card with
        {
            Weights = card.IsLinear ? fitted.Weights : card.Weights,
            Bias = card.IsLinear ? fitted.Bias : card.Bias,
            WeightsSha256 = card.IsLinear ? card.WeightsSha256 : null,
            Provenance = fitted.Provenance with { DataHash = card.Provenance.DataHash },
            Revision = card.Revision + 1,
            History = card.History.Add($"goal regression: {labels.Length} labelled state(s), anchor {anchorStates.Length / Math.Max(1, card.Features.Length)} state(s) × {anchorWeight}"),
        };
    }

    /// <summary>
    /// Goal regression from states of an environment: <paramref name="labelled"/> pairs each state
    /// with the value the programmer wants; every state of <paramref name="anchor"/> keeps its
    /// current value with weight <paramref name="anchorWeight"/>.
    /// </summary>
    public static ObjectiveCard RegressTowardGoal<TState>(LoadedObjective current, IEnvironment<TState> environment, IEnumerable<(TState State, double Value)> labelled, IEnumerable<TState> anchor, double anchorWeight, TrainingOptions options)
        where TState : struct
    {
        ObjectiveCardFile.RequireFeatures(current.Card, environment.Features, environment.Name, current.Source);
        var pairs = labelled.ToArray();
        return RegressTowardGoal(current, Rows(environment, current.Card.Features, pairs.Select(p => p.State)), [.. pairs.Select(p => p.Value)], Rows(environment, current.Card.Features, anchor), anchorWeight, options);
    }

    /// <summary>Features of <paramref name="states"/> in <paramref name="features"/> order, [N, F].</summary>
    public static double[] Rows<TState>(IEnvironment<TState> environment, ImmutableArray<string> features, IEnumerable<TState> states)
        where TState : struct
    {
        var columns = features.Select(environment.Features.Require).ToArray();
        var row = new double[environment.Features.Count];
        var rows = new List<double>();
        foreach (var state in states)
        {
            environment.WriteFeatures(state, row);
            rows.AddRange(columns.Select(c => row[c]));
        }
        return [.. rows];
    }

    /// <summary>Declared signs [F] from a name → sign map; unnamed features are free (0).</summary>
    public static int[] SignsOf(ImmutableArray<string> features, IReadOnlyDictionary<string, int>? signs)
    {
        var result = new int[features.Length];
        if (signs is null)
        {
            return result;
        }
        foreach (var (name, sign) in signs)
        {
            var i = features.IndexOf(name);
            if (i < 0)
            {
                throw new TelosInputException($"--signs: unknown feature '{name}'; known features: {string.Join(", ", features)}");
            }
            result[i] = Math.Sign(sign);
        }
        return result;
    }

    private static Provenance Provenance(string signal, string on, string hash, FitReport report, long seed) =>
        new(signal, on, hash, report.Steps, seed, report.Metrics);
}
