using System.Globalization;
using System.Text.RegularExpressions;
using Telos.Agents;
using Telos.Environments;
using Telos.Imaging;
using Telos.Lab.Runs;
using Telos.Learning.Objectives;
using Telos.Learning.Planning;
using Telos.Objectives;
using Telos.Planning;
using Telos.Randomness;

namespace Telos.Studio;

/// <summary>How a studio session starts.</summary>
/// <param name="SaveDirectory">Where saved cards go (<c>NAME.json</c>); created on the first save.</param>
/// <param name="Distribution">The first level's distribution.</param>
/// <param name="Seed">The first level's seed.</param>
/// <param name="Objective">A reference name of the family or a card file; null: the family's first proxy (the objective that misgeneralizes), else its true reward.</param>
/// <param name="RootSeed">Root of the session's seeds (EPIC's transitions, the batch's episodes, regression, the policy's episodes).</param>
/// <param name="Runs">The run store whose <c>ppo</c> runs the page can load (<c>--runs</c>); null: none.</param>
public sealed record StudioSessionOptions(string SaveDirectory, string Distribution = "maze/test", long Seed = 0, string? Objective = null, ulong RootSeed = 0, string? Runs = null);

/// <summary>
/// One person's studio: the selected level, the loaded card and the edited one, undo/redo, the
/// goal labels and the EPIC reference. Every request is one method here that validates its input
/// (<see cref="TelosInputException"/> with a one-line message, nothing changed), applies it and
/// returns the whole <see cref="StudioView"/>. Methods are serialized by a lock: one request at a time.
/// A loaded PPO policy is held until another replaces it or the session is disposed.
/// </summary>
public sealed partial class StudioSession : IDisposable
{
    /// <summary>Edits the page offers (the same verbs as <c>telos objective edit</c>).</summary>
    public static readonly IReadOnlyList<string> EditNames = ["set", "scale", "zero", "penalty", "freeze"];

    private const int DefaultBatchLevels = 20;
    private const string DefaultPlanner = "bfs";

    private readonly Lock _gate = new();
    private readonly string _saveDirectory;
    private readonly ulong _rootSeed;
    private readonly Dictionary<string, TransitionSample> _samples = new(StringComparer.Ordinal);
    private readonly Stack<LoadedObjective> _undo = new();
    private readonly Stack<LoadedObjective> _redo = new();
    private readonly List<StudioLabel> _labels = [];
    private Selection _selection;
    private LoadedObjective _loaded;
    private LoadedObjective _current;
    private string _reference;

    /// <summary>Opens a session on <paramref name="options"/>' level and objective.</summary>
    /// <exception cref="TelosInputException">Unknown distribution, a family without cells, a bad seed, or an objective that cannot be loaded.</exception>
    public StudioSession(StudioSessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _saveDirectory = Path.GetFullPath(options.SaveDirectory);
        _rootSeed = options.RootSeed;
        _store = options.Runs is null ? null : new RunStore(options.Runs);
        var family = DrawableFamily(options.Distribution);
        _selection = new Selection(options.Distribution, DistributionParameters.None, new SortedDictionary<string, int>(StringComparer.Ordinal), CheckSeed(options.Seed), DefaultPlanner, DefaultBatchLevels);
        _loaded = _current = options.Objective is null ? DefaultObjective(family) : Load(options.Objective, family);
        _reference = family.References[0].Name;
        ComputeView();
    }

    /// <summary>The folder saved cards go to.</summary>
    public string SaveDirectory => _saveDirectory;

    /// <summary>The current card.</summary>
    public ObjectiveCard Card
    {
        get
        {
            lock (_gate)
            {
                return _current.Card;
            }
        }
    }

    /// <summary>Every family, distribution, parameter, reference and planner the page can pick.</summary>
    public static StudioCatalog Catalog() => new(
        [.. EnvironmentFamilies.All.Select(f => new StudioFamily(f.Name, f.Summary, [.. f.Distributions.Select(d => d.Name)],
            [.. f.Parameters.Select(p => new StudioParameter(p.Name, p.Description, p.Default, p.Min, p.Max))], [.. f.References.Select(r => r.Name)],
            [.. f.Features.Names], f.Accept(new HasCellsOperation())))],
        Planners.Names, EditNames);

    /// <summary>The view of the current state.</summary>
    public StudioView View()
    {
        lock (_gate)
        {
            return ComputeView();
        }
    }

    /// <summary>Selects a level. Changing family loads that family's default objective and clears the history; any change clears the labels.</summary>
    /// <exception cref="TelosInputException">Unknown distribution or planner, parameters the family refuses, a seed or batch size out of range.</exception>
    public StudioView Select(LevelRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var distribution = request.Distribution ?? throw new TelosInputException("distribution: required (e.g. maze/test)");
            var family = DrawableFamily(distribution);
            var given = request.Parameters ?? [];
            var parameters = DistributionParameters.Of([.. given.Select(kv => (kv.Key, (int?)kv.Value))]);
            var planner = request.Planner ?? _selection.Planner;
            family.Accept(new CheckLevelOperation(distribution, parameters, planner));
            var batch = request.BatchLevels ?? _selection.BatchLevels;
            if (batch is < 1 or > StudioLimits.MaxBatchLevels)
            {
                throw new TelosInputException($"batchLevels {batch} must be 1 to {StudioLimits.MaxBatchLevels}");
            }
            var next = new Selection(distribution, parameters, new SortedDictionary<string, int>(given, StringComparer.Ordinal), CheckSeed(request.Seed), planner, batch);
            var (selection, loaded, current, reference, labels) = (_selection, _loaded, _current, _reference, _labels.ToArray());
            _selection = next;
            _labels.Clear();
            var familyChanged = !ReferenceEquals(family, EnvironmentFamilies.Of(selection.Distribution));
            if (familyChanged)
            {
                _loaded = _current = DefaultObjective(family);
                _reference = family.References[0].Name;
            }
            try
            {
                var view = ComputeView();
                if (familyChanged)
                {
                    _undo.Clear();
                    _redo.Clear();
                    view = view with { CanUndo = false, CanRedo = false };
                }
                return view;
            }
            catch (TelosInputException)
            {
                (_selection, _loaded, _current, _reference) = (selection, loaded, current, reference);
                _labels.AddRange(labels);
                throw;
            }
        }
    }

    /// <summary>Applies one edit to the current card (undoable).</summary>
    /// <exception cref="TelosInputException">Unknown edit or feature (the message lists the known ones), a missing or non-finite number, an edit the card's form refuses.</exception>
    public StudioView Edit(EditRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var card = _current.Card;
            var feature = request.Feature ?? throw new TelosInputException("feature: required");
            var edited = request.Op switch
            {
                "set" => card.SetWeight(feature, StudioNumbers.Finite(request.Value, $"set {feature}")),
                "scale" => card.ScaleWeight(feature, StudioNumbers.Finite(request.Value, $"scale {feature}")),
                "zero" => card.ZeroWeight(feature),
                "penalty" => card.AddPenalty(new PenaltyTerm(feature, StudioNumbers.Finite(request.Value, $"penalty {feature}"), StudioNumbers.Finite(request.Above, $"penalty {feature} above", 0.0))),
                "freeze" => feature == "all" ? card.Freeze() : card.Freeze(feature),
                _ => throw new TelosInputException($"op '{request.Op}' is not an edit; expected {string.Join(", ", EditNames)}"),
            };
            return Commit(_current with { Card = edited });
        }
    }

    /// <summary>Undoes the last edit (or regression).</summary>
    /// <exception cref="TelosInputException">Nothing to undo.</exception>
    public StudioView Undo()
    {
        lock (_gate)
        {
            if (!_undo.TryPop(out var previous))
            {
                throw new TelosInputException("nothing to undo");
            }
            _redo.Push(_current);
            _current = previous;
            return ComputeView();
        }
    }

    /// <summary>Redoes the last undone edit.</summary>
    /// <exception cref="TelosInputException">Nothing to redo.</exception>
    public StudioView Redo()
    {
        lock (_gate)
        {
            if (!_redo.TryPop(out var next))
            {
                throw new TelosInputException("nothing to redo");
            }
            _undo.Push(_current);
            _current = next;
            return ComputeView();
        }
    }

    /// <summary>Loads reference <paramref name="request"/>.Name of the current family as the card to edit (the history starts again).</summary>
    /// <exception cref="TelosInputException">Not a reference of the family.</exception>
    public StudioView LoadReference(ObjectiveRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var family = EnvironmentFamilies.Of(_selection.Distribution);
            var reference = RequireReference(request.Name, family);
            _loaded = _current = Widen(reference, family);
            _undo.Clear();
            _redo.Clear();
            return ComputeView();
        }
    }

    /// <summary>Names the reference EPIC measures against.</summary>
    /// <exception cref="TelosInputException">Not a reference of the family.</exception>
    public StudioView SetReference(ReferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            _reference = RequireReference(request.Name, EnvironmentFamilies.Of(_selection.Distribution)).Name;
            return ComputeView();
        }
    }

    /// <summary>Labels a cell of the current level with the value the programmer wants there (a later label of the same cell replaces it).</summary>
    /// <exception cref="TelosInputException">The cell is outside the level or a wall, the value is not a finite number, or there are already <see cref="StudioLimits.MaxLabels"/> labels.</exception>
    public StudioView Label(LabelRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var value = StudioNumbers.Finite(request.Value, $"label {request.X},{request.Y}");
            // The state on the cell is checked the way regression will read it.
            ObjectiveTraining.GoalRows([new GoalLabel(_selection.Seed, request.X, request.Y, value)], _selection.Distribution, _selection.Parameters, _current.Card);
            var existing = _labels.FindIndex(l => l.X == request.X && l.Y == request.Y);
            if (existing < 0 && _labels.Count >= StudioLimits.MaxLabels)
            {
                throw new TelosInputException($"at most {StudioLimits.MaxLabels} labels; clear some first");
            }
            var label = new StudioLabel(request.X, request.Y, value);
            if (existing >= 0)
            {
                _labels[existing] = label;
            }
            else
            {
                _labels.Add(label);
            }
            return ComputeView();
        }
    }

    /// <summary>Removes every label.</summary>
    public StudioView ClearLabels()
    {
        lock (_gate)
        {
            _labels.Clear();
            return ComputeView();
        }
    }

    /// <summary>
    /// Goal regression (<see cref="ObjectiveTrainer.RegressTowardGoal(LoadedObjective, double[], double[], double[], double, TrainingOptions)"/>):
    /// moves the card toward the labels while states of EPIC's sample of the selected distribution keep their values with weight Anchor (undoable).
    /// </summary>
    /// <exception cref="TelosInputException">No labels, an anchor that is not a positive finite number, or a card that cannot be regressed (frozen, the net form).</exception>
    public StudioView Regress(RegressRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (_labels.Count == 0)
            {
                throw new TelosInputException("no labels: click cells of the level to label them first");
            }
            var anchor = StudioNumbers.Finite(request.Anchor, "anchor", 1.0);
            if (!(anchor > 0))
            {
                throw new TelosInputException($"anchor {anchor.ToString(CultureInfo.InvariantCulture)} must be positive");
            }
            var card = _current.Card;
            var labels = _labels.Select(l => new GoalLabel(_selection.Seed, l.X, l.Y, l.Value)).ToArray();
            var (rows, values) = ObjectiveTraining.GoalRows(labels, _selection.Distribution, _selection.Parameters, card);
            var anchorRows = Sample(_selection.Distribution).FeatureRows(card.Features);
            var options = new TrainingOptions(StudioLimits.RegressionSteps, ObjectiveTraining.DefaultLearningRate(ObjectiveSignal.Goal, card.Form),
                (long)(Seeds.Derive(_rootSeed, "studio/regression") >> 1));
            var regressed = ObjectiveTrainer.RegressTowardGoal(_current, rows, values, anchorRows, anchor, options);
            return Commit(_current with { Card = regressed });
        }
    }

    /// <summary>Writes the current card (its edits in its history) as <c>NAME.json</c> in <see cref="SaveDirectory"/>, atomically.</summary>
    /// <exception cref="TelosInputException">A name that is not a plain file name, or an existing file without <see cref="SaveRequest.Overwrite"/>.</exception>
    public StudioSaved Save(SaveRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var name = request.Name ?? throw new TelosInputException("name: required");
            if (!FileName().IsMatch(name))
            {
                throw new TelosInputException($"name '{name}': use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit (the card is saved as NAME.json in the studio's folder)");
            }
            var path = Path.Combine(_saveDirectory, name + ".json");
            if (File.Exists(path) && !request.Overwrite)
            {
                throw new TelosInputException($"{path} exists; save under another name or set overwrite");
            }
            Directory.CreateDirectory(_saveDirectory);
            var card = ObjectiveFiles.Save(_current.Card, _current.Module, path);
            return new StudioSaved(path, card.Revision, card.History.Length - _loaded.Card.History.Length);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex FileName();

    private StudioView Commit(LoadedObjective edited)
    {
        var previous = _current;
        _current = edited;
        try
        {
            var view = ComputeView();
            _undo.Push(previous);
            _redo.Clear();
            return view;
        }
        catch (TelosInputException)
        {
            _current = previous;
            throw;
        }
    }

    private StudioView ComputeView()
    {
        var s = _selection;
        var family = EnvironmentFamilies.Of(s.Distribution);
        var label = _current.Card.Revision == _loaded.Card.Revision ? _current.Source : $"{_current.Source}, edited";
        var plan = LevelPlans.Plan(new LevelPlanRequest(s.Distribution, s.Parameters, s.Seed, label, s.Planner, PlanBudget.Default), _current);
        var heatmap = ObjectiveViews.Heatmap(_current, s.Distribution, s.Parameters, s.Seed, cellPixels: 2);
        var height = heatmap.Values.Length / heatmap.Width;
        var landmarks = family.Accept(new LandmarkOperation(s.Distribution, s.Parameters, s.Seed));
        var level = new StudioLevel(s.Distribution, s.Seed, s.Given, s.Planner, s.BatchLevels, plan.Level, heatmap.Width, height,
            [.. heatmap.Values.Select(v => double.IsNaN(v) ? (double?)null : v)], heatmap.Min, heatmap.Max, landmarks);
        var path = plan.Cells?.Select(c => new StudioCell(c.X, c.Y)).ToArray() ?? [];
        var studioPlan = new StudioPlan(plan.Agent, path, plan.Actions, plan.Record.Ending, plan.Record.Success, plan.Record.Proxy, plan.Record.Return, plan.Trace.ToJsonObject());
        var card = _current.Card;
        var studioCard = new StudioCard(_current.Source, ObjectiveCard.FormName(card.Form), card.Revision,
            card.IsLinear ? [.. card.Features.Select((f, i) => new StudioWeight(f, card.Weights[i], card.Frozen || card.FrozenFeatures.Contains(f)))] : [],
            card.Bias, [.. card.Penalties.Select(p => $"-{F(p.Weight)}·max(0, {p.Feature} − {F(p.Above)})")], card.Frozen, card.History);
        var diff = ObjectiveDiff.Compare(_loaded.Card, card)
            .Select(d => new StudioDifference(d.Field, d.Name, d.Left, d.Right, double.IsNaN(d.Delta) ? null : d.Delta)).ToArray();
        var reference = ObjectiveSources.Load(_reference, family);
        var gamma = card.Form == ObjectiveForm.Shaped ? card.Gamma : 0.99;
        var epic = family.Distributions.Select(d =>
        {
            var result = Epic.Distance(_current.Transition(), reference.Transition(), Sample(d.Name), gamma);
            return new StudioEpicRow(d.Name, result.Distance, result.Pearson, result.Transitions);
        }).ToArray();
        var batch = family.Accept(new BatchOperation(s, _current, Seeds.Derive(_rootSeed, "studio/batch")));
        return new StudioView(level, studioPlan, studioCard, diff, new StudioEpic(_reference, [.. family.References.Select(r => r.Name)], epic), batch,
            [.. _labels], _undo.Count > 0, _redo.Count > 0, PolicyView());
    }

    /// <summary>EPIC's transitions of <paramref name="distribution"/> under the selected parameters (cached: the same sample for every edit).</summary>
    private TransitionSample Sample(string distribution)
    {
        var key = distribution + " " + _selection.Parameters;
        if (!_samples.TryGetValue(key, out var sample))
        {
            sample = ObjectiveData.Sample(distribution, _selection.Parameters, StudioLimits.EpicLevels, StudioLimits.EpicTransitionsPerLevel, Seeds.Derive(_rootSeed, "studio/epic/" + distribution));
            _samples[key] = sample;
        }
        return sample;
    }

    private static IEnvironmentFamily DrawableFamily(string distribution)
    {
        var family = EnvironmentFamilies.Of(distribution);
        if (!family.Accept(new HasCellsOperation()))
        {
            throw new TelosInputException($"{distribution}: {family.Name} states do not stand on cells, so the studio cannot draw its levels");
        }
        return family;
    }

    private static long CheckSeed(long seed) =>
        seed is >= 0 and <= StudioLimits.MaxSeed ? seed : throw new TelosInputException($"seed {seed} must be 0 to {StudioLimits.MaxSeed}");

    private static ReferenceObjective RequireReference(string? name, IEnvironmentFamily family) =>
        ObjectiveSources.Reference(name ?? "", family) ?? throw new TelosInputException($"reference '{name}' is not one of {family.Name}'s: {ObjectiveSources.References(family)}");

    /// <summary>The family's first proxy (the objective the demo misgeneralizes with), or its true reward when it has none.</summary>
    private static LoadedObjective DefaultObjective(IEnvironmentFamily family) => Widen(family.References.FirstOrDefault(r => !r.IsTrue) ?? family.References[0], family);

    private static LoadedObjective Load(string spec, IEnvironmentFamily family) =>
        ObjectiveSources.Reference(spec, family) is { } reference ? Widen(reference, family) : ObjectiveSources.Load(spec, family);

    /// <summary>A reference's card over every feature of the family (the others at weight 0), so that each can be given a weight.</summary>
    private static LoadedObjective Widen(ReferenceObjective reference, IEnvironmentFamily family)
    {
        var card = reference.Card;
        var weights = family.Features.Names.Select(n => KeyValuePair.Create(n, card.Features.IndexOf(n) is var i and >= 0 ? card.Weights[i] : 0.0));
        return new LoadedObjective(ObjectiveCard.Linear(weights, card.Bias), null, $"{family.Name} reference '{reference.Name}'");
    }

    private static string F(double x) => x.ToString("G6", CultureInfo.InvariantCulture);

    private sealed record Selection(string Distribution, DistributionParameters Parameters, IReadOnlyDictionary<string, int> Given, long Seed, string Planner, int BatchLevels);

    private sealed record HasCellsOperation : IFamilyOperation<bool>
    {
        public bool Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct => family.Cells is not null;
    }

    /// <summary>The family's own checks of the distribution's parameters and of the planner's name.</summary>
    private sealed record CheckLevelOperation(string Distribution, DistributionParameters Parameters, string Planner) : IFamilyOperation<bool>
    {
        public bool Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct => family.Distribution(Distribution, Parameters) is not null && Planners.Create(Planner, family) is not null;
    }

    private sealed record LandmarkOperation(string Distribution, DistributionParameters Parameters, long Seed) : IFamilyOperation<IReadOnlyList<StudioLandmark>>
    {
        public IReadOnlyList<StudioLandmark> Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var level = family.Distribution(Distribution, Parameters).Level(Seed);
            return [.. family.Cells!.Landmarks(level).Select(l => new StudioLandmark(l.X, l.Y, Hex(l.Colour), l.Fraction))];
        }

        private static string Hex(Rgb c) => $"#{c.R:x2}{c.G:x2}{c.B:x2}";
    }

    private sealed record BatchOperation(Selection Selection, LoadedObjective Objective, ulong Seed) : IFamilyOperation<StudioBatch>
    {
        public StudioBatch Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var agent = new PlanningAgent<TState>(Planners.Create(Selection.Planner, family), Objective.ForAgent<TState>(), PlanBudget.Default);
            var seeds = Enumerable.Range(0, Selection.BatchLevels).Select(i => (long)i).ToArray();
            var summary = AgentEvaluation.Evaluate(agent, family, Selection.Distribution, Selection.Parameters, seeds, Seed).Summary;
            return new StudioBatch(Selection.Distribution, seeds.Length, Rate(summary.Success), Rate(summary.Proxy), Rate(summary.SuccessCeiling));
        }

        private static StudioRate Rate(Rate r) => new(r.Count, r.Of, r.Value);
    }
}
