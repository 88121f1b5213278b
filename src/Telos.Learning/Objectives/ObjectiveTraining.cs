using System.Collections.Immutable;
using System.Globalization;
using Telos.Environments;
using Telos.Objectives;
using Telos.Planning.Exact;
using Telos.Randomness;

namespace Telos.Learning.Objectives;

/// <summary>The signals an objective can be trained from.</summary>
public enum ObjectiveSignal
{
    /// <summary>Reward regression on sampled transitions (CLI: <c>reward</c>).</summary>
    Reward,

    /// <summary>Goal regression of an existing card toward labelled states, with an anchor (CLI: <c>goal</c>).</summary>
    Goal,

    /// <summary>Bradley–Terry preferences between segments, labelled by a reference objective (CLI: <c>prefs</c>).</summary>
    Preferences,

    /// <summary>Maximum-entropy IRL from demonstrations of a reference objective (CLI: <c>demos</c>).</summary>
    Demonstrations,

    /// <summary>Bootstrapped TD(λ) values of the environment's reward (CLI: <c>td</c>).</summary>
    TemporalDifference,
}

/// <summary>Who demonstrates for <see cref="ObjectiveSignal.Demonstrations"/>.</summary>
public enum Demonstrator
{
    /// <summary>Boltzmann-rational (τ = 1) from each level's start.</summary>
    Soft,

    /// <summary>Exact finite-horizon Q*, ties broken by the seed, one demonstration from every state that is not absorbing.</summary>
    Optimal,
}

/// <summary>A labelled state for goal regression: <c>SEED:X,Y=VALUE</c>.</summary>
/// <param name="LevelSeed">The level (of the training distribution).</param>
/// <param name="X">Cell x, from the left.</param>
/// <param name="Y">Cell y, from the bottom.</param>
/// <param name="Value">The value the programmer wants there.</param>
public readonly record struct GoalLabel(long LevelSeed, int X, int Y, double Value)
{
    /// <summary>Parses <c>SEED:X,Y=VALUE</c>, e.g. <c>0:12,12=10</c>.</summary>
    /// <exception cref="TelosInputException">Not of that shape, or a value that is not finite.</exception>
    public static GoalLabel Parse(string text, string option = "--label")
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':');
        var eq = text.IndexOf('=');
        if (colon <= 0 || eq < colon || !long.TryParse(text[..colon], NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            || !double.TryParse(text[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            throw new TelosInputException($"{option} '{text}': expected SEED:X,Y=VALUE, e.g. 0:12,12=10");
        }
        var (x, y) = Cell(text[(colon + 1)..eq], option, text);
        return new GoalLabel(seed, x, y, value);
    }

    /// <summary>Parses <c>X,Y</c>.</summary>
    /// <exception cref="TelosInputException">Not two integers.</exception>
    public static (int X, int Y) Cell(string xy, string option, string? whole = null)
    {
        ArgumentNullException.ThrowIfNull(xy);
        var parts = xy.Split(',');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var x)
            || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var y))
        {
            throw new TelosInputException($"{option} '{whole ?? xy}': expected X,Y (x from the left, y from the bottom)");
        }
        return (x, y);
    }
}

/// <summary>Everything <c>telos objective train</c> can ask for; defaults are the documented ones.</summary>
/// <param name="Signal">What to learn from.</param>
/// <param name="Form">The declared form.</param>
/// <param name="On">The distribution the data comes from.</param>
/// <param name="Parameters">Its parameters.</param>
/// <param name="Levels">Levels drawn (seeds FirstLevel..FirstLevel+Levels−1).</param>
/// <param name="SamplesPerLevel">Transitions per level (random walks from uniformly drawn states).</param>
/// <param name="Seed">Root seed: data, initialization, labels, demonstrations.</param>
/// <param name="Steps">Optimizer steps (IRL: gradient steps on θ).</param>
/// <param name="LearningRate">Adam's (IRL: gradient ascent's) step size; null: <see cref="ObjectiveTraining.DefaultLearningRate"/>.</param>
/// <param name="FormOptions">Form settings (top-k, signs, hidden widths, γ).</param>
/// <param name="Lambda">TD: λ.</param>
/// <param name="Reference">Preferences and demonstrations: the reference objective (a family reference name or a card file); null: the family's true reward.</param>
/// <param name="Pairs">Preferences: labelled segment pairs.</param>
/// <param name="Segment">Preferences: transitions per segment.</param>
/// <param name="DemonstrationsPerLevel">Soft demonstrator: demonstrations per level.</param>
/// <param name="Demonstrator">Soft or optimal.</param>
/// <param name="From">Goal: the card to regress.</param>
/// <param name="Labels">Goal: the labelled states.</param>
/// <param name="Anchor">Goal: λ of the anchor keeping other states' values.</param>
/// <param name="FirstLevel">The first level's seed: the data (and the demonstrations) come from levels FirstLevel..FirstLevel+Levels−1.</param>
/// <param name="InitSeed">
/// Seeds the fit alone (the module's initialization and the optimizer); null: <paramref name="Seed"/>. The data, the preference
/// pairs and the demonstrations still come from <paramref name="Seed"/>, so fits that differ only here saw the same data (an
/// ensemble). MaxEnt IRL has no random initialization and ignores it.
/// </param>
public sealed record ObjectiveTrainingRequest(
    ObjectiveSignal Signal, ObjectiveForm Form, string On, DistributionParameters Parameters,
    int Levels = 20, int SamplesPerLevel = 200, long Seed = 0, int Steps = 500, double? LearningRate = null, FormOptions? FormOptions = null,
    double Lambda = 0.9, string? Reference = null, int Pairs = 500, int Segment = 4, int DemonstrationsPerLevel = 10,
    Demonstrator Demonstrator = Demonstrator.Soft, string? From = null, IReadOnlyList<GoalLabel>? Labels = null, double Anchor = 1.0, long FirstLevel = 0, long? InitSeed = null);

/// <summary>
/// The library behind <c>telos objective train</c>: data from a registered distribution, the
/// signal's pipeline, the card (with provenance) and, for neural forms, the module. The CLI parses
/// into an <see cref="ObjectiveTrainingRequest"/> and prints what comes back. Deterministic given the seed.
/// </summary>
public static class ObjectiveTraining
{
    /// <summary>The CLI names of the signals, in <see cref="ObjectiveSignal"/> order.</summary>
    public static IReadOnlyList<string> SignalNames { get; } = ["reward", "goal", "prefs", "demos", "td"];

    /// <summary>The signal called <paramref name="name"/>.</summary>
    /// <exception cref="TelosInputException">Unknown name.</exception>
    public static ObjectiveSignal ParseSignal(string name, string option = "--signal")
    {
        var index = SignalNames.ToList().IndexOf(name);
        return index >= 0 ? (ObjectiveSignal)index : throw new TelosInputException($"{option} '{name}' is not known; expected {string.Join(", ", SignalNames)}");
    }

    /// <summary>The demonstrator called <paramref name="name"/> (<c>soft</c>, <c>optimal</c>).</summary>
    /// <exception cref="TelosInputException">Unknown name.</exception>
    public static Demonstrator ParseDemonstrator(string name, string option = "--demonstrator") => name switch
    {
        "soft" => Demonstrator.Soft,
        "optimal" => Demonstrator.Optimal,
        _ => throw new TelosInputException($"{option} '{name}' is not known; expected soft or optimal"),
    };

    /// <summary>
    /// The step size when none is given: MaxEnt IRL's own (<see cref="MaxEntIrlOptions.LearningRate"/>, 0.1) for
    /// demonstrations, 0.01 for the net form, <see cref="TrainingOptions.LearningRate"/> (0.05) otherwise.
    /// </summary>
    public static double DefaultLearningRate(ObjectiveSignal signal, ObjectiveForm form) =>
        signal == ObjectiveSignal.Demonstrations ? new MaxEntIrlOptions().LearningRate
        : form == ObjectiveForm.Net ? 0.01
        : new TrainingOptions().LearningRate;

    /// <summary>Trains the objective the request describes.</summary>
    /// <exception cref="TelosInputException">Any field out of range or inconsistent (the message names it), or data that does not fit the form.</exception>
    public static (ObjectiveCard Card, TrainableObjective? Module) Train(ObjectiveTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Positive(request.Levels, "levels");
        Positive(request.SamplesPerLevel, "samples");
        Positive(request.Steps, "train-steps");
        var learningRate = request.LearningRate ?? DefaultLearningRate(request.Signal, request.Form);
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
        {
            throw new TelosInputException($"learning rate {learningRate} must be a positive number");
        }
        var family = EnvironmentFamilies.Of(request.On);
        var training = new TrainingOptions(request.Steps, learningRate, request.InitSeed ?? request.Seed);
        var formOptions = request.FormOptions ?? new FormOptions();
        var neural = formOptions.InputOf(request.Form) == ObjectiveInput.Observation;
        TransitionSample Sample(bool observations) =>
            ObjectiveData.Sample(request.On, request.Parameters, request.Levels, request.SamplesPerLevel, (ulong)request.Seed, request.FirstLevel, observations);
        switch (request.Signal)
        {
            case ObjectiveSignal.Reward:
                return ObjectiveTrainer.FitRewards(request.Form, Sample(neural), request.On, formOptions, training);
            case ObjectiveSignal.TemporalDifference:
                return ObjectiveTrainer.FitTdLambda(request.Form, Sample(false), request.On, formOptions.Gamma, request.Lambda, 5, formOptions, training);
            case ObjectiveSignal.Preferences:
            {
                var reference = ReferenceOf(request.Reference, family);
                var labelled = PreferencePairs.Synthetic(Sample(neural), Positive(request.Segment, "segment"), Positive(request.Pairs, "pairs"), reference.Transition(), 0.0, (ulong)request.Seed);
                return ObjectiveTrainer.FitPreferences(request.Form, labelled, request.On, formOptions, training);
            }
            case ObjectiveSignal.Demonstrations:
            {
                if (request.Form != ObjectiveForm.Linear)
                {
                    throw new TelosInputException($"the demos signal trains the linear form (MaxEnt IRL over features); got form {ObjectiveCard.FormName(request.Form)}");
                }
                var reference = ReferenceOf(request.Reference, family);
                var card = Demonstrations.FitMaxEntIrl(request.On, request.Parameters, request.Levels, reference, request.DemonstrationsPerLevel, request.Demonstrator,
                    formOptions.Gamma, request.Steps, learningRate, request.Seed, request.FirstLevel);
                return (card, null);
            }
            case ObjectiveSignal.Goal:
            {
                var fromPath = request.From ?? throw new TelosInputException("the goal signal needs --from CARD (the objective to regress)");
                var current = ObjectiveFiles.Load(fromPath);
                var labels = request.Labels is { Count: > 0 } given ? given : throw new TelosInputException("the goal signal needs at least one --label SEED:X,Y=VALUE");
                var (x, y) = GoalRows(labels, request.On, request.Parameters, current.Card);
                var anchorRows = Sample(false).FeatureRows(current.Card.Features);
                var card = ObjectiveTrainer.RegressTowardGoal(current, x, y, anchorRows, request.Anchor, training);
                return (card, current.Module);
            }
            default:
                throw new TelosInputException($"signal {request.Signal} is not known");
        }
    }

    /// <summary>
    /// The labelled states as rows of <paramref name="card"/>'s features and their wanted values: each label's cell on
    /// its level of <paramref name="on"/>, everything else as at the level's start.
    /// </summary>
    /// <exception cref="TelosInputException">The family has no cells, a cell is outside the level or a wall, or the card reads features the family lacks.</exception>
    public static (double[] Rows, double[] Values) GoalRows(IReadOnlyList<GoalLabel> labels, string on, DistributionParameters parameters, ObjectiveCard card)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(card);
        return EnvironmentFamilies.Run(on, new LabelRows(labels, on, parameters, card));
    }

    /// <summary>The state on cell (x, y) of <paramref name="level"/>, through the family's cells.</summary>
    /// <exception cref="TelosInputException">The family has no cells, or the cell is outside the level or a wall.</exception>
    public static TState StateAt<TState>(IEnvironmentFamily<TState> family, IEnvironment<TState> level, int x, int y, string option)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        var grid = family.Cells ?? throw new TelosInputException($"{option}: {family.Name} states do not stand on cells");
        if (!grid.TryStateAt(level, x, y, out var state))
        {
            var (w, h) = grid.Size(level);
            throw new TelosInputException(x < 0 || y < 0 || x >= w || y >= h
                ? $"{option} '{x},{y}': expected X,Y with 0 ≤ X < {w} and 0 ≤ Y < {h} (x from the left, y from the bottom)"
                : $"{option} '{x},{y}' is a wall in this level");
        }
        return state;
    }

    private static LoadedObjective ReferenceOf(string? spec, IEnvironmentFamily family) => ObjectiveSources.Load(spec ?? family.References[0].Name, family);

    private static int Positive(int value, string name) =>
        value > 0 ? value : throw new TelosInputException($"{name} {value} must be at least 1");

    private sealed record LabelRows(IReadOnlyList<GoalLabel> Labels, string On, DistributionParameters Parameters, ObjectiveCard Card) : IFamilyOperation<(double[], double[])>
    {
        public (double[], double[]) Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var levels = family.Distribution(On, Parameters);
            var rows = new List<double>();
            var values = new List<double>();
            foreach (var label in Labels)
            {
                var level = levels.Level(label.LevelSeed);
                ObjectiveCardFile.RequireFeatures(Card, level.Features, level.Name, "card");
                var state = StateAt(family, level, label.X, label.Y, "--label");
                rows.AddRange(ObjectiveTrainer.Rows(level, Card.Features, [state]));
                values.Add(label.Value);
            }
            return (rows.ToArray(), values.ToArray());
        }
    }
}

/// <summary>Transition samples from registered distributions, for training signals and EPIC.</summary>
public static class ObjectiveData
{
    /// <summary>
    /// Random-walk transitions of levels <paramref name="firstSeed"/>.. of <paramref name="distribution"/>, from uniformly
    /// drawn states, each walk cut at the family's walk length so that walks spread over the level.
    /// </summary>
    /// <exception cref="TelosInputException">Unknown distribution, bad parameters, or fewer than one level or sample.</exception>
    public static TransitionSample Sample(string distribution, DistributionParameters parameters, int levels, int perLevel, ulong seed, long firstSeed = 0, bool observations = false) =>
        EnvironmentFamilies.Run(distribution, new Walks(distribution, parameters, levels, perLevel, seed, firstSeed, observations));

    private sealed record Walks(string Distribution, DistributionParameters Parameters, int Levels, int PerLevel, ulong Seed, long FirstSeed, bool Observations)
        : IFamilyOperation<TransitionSample>
    {
        public TransitionSample Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var levels = family.Distribution(Distribution, Parameters);
            var length = family.WalkLength(levels.Level(FirstSeed));
            return TransitionSample.Collect<TState>(s => levels.Level(s), Levels, PerLevel, Seed, FirstSeed, length, uniformStarts: true, Observations);
        }
    }
}

/// <summary>The demonstration signal's pipeline: demonstrations of a reference objective, then MaxEnt IRL over the family's features.</summary>
public static class Demonstrations
{
    /// <summary>
    /// MaxEnt IRL against demonstrations of <paramref name="reference"/> on levels <paramref name="firstLevel"/>..<paramref name="firstLevel"/>+<paramref name="levels"/>−1 of
    /// <paramref name="on"/>: soft (Boltzmann-rational, τ = 1, <paramref name="perLevel"/> from each level's start) or
    /// optimal (exact finite-horizon Q* with the fit's γ and horizon, ties broken by the seed, one from every state that
    /// is not absorbing). The horizon is min(step limit, 4·√S + 8), at least 4.
    /// </summary>
    /// <param name="on">The distribution.</param>
    /// <param name="parameters">Its parameters.</param>
    /// <param name="levels">Levels 0..levels−1.</param>
    /// <param name="reference">The objective the demonstrator pursues.</param>
    /// <param name="perLevel">Soft demonstrator: demonstrations per level.</param>
    /// <param name="demonstrator">Soft or optimal.</param>
    /// <param name="gamma">γ of the demonstrator and the fit.</param>
    /// <param name="iterations">Gradient steps on θ.</param>
    /// <param name="learningRate">The IRL step size, used as given.</param>
    /// <param name="seed">Seeds the demonstrations.</param>
    /// <param name="firstLevel">The first level's seed (levels firstLevel..firstLevel+levels−1).</param>
    /// <exception cref="TelosInputException">Unknown distribution or bad parameters.</exception>
    public static ObjectiveCard FitMaxEntIrl(string on, DistributionParameters parameters, int levels, LoadedObjective reference, int perLevel, Demonstrator demonstrator,
        double gamma, int iterations, double learningRate, long seed, long firstLevel = 0)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (levels < 1 || perLevel < 1)
        {
            throw new TelosInputException($"demonstrations need levels ≥ 1 and demonstrations per level ≥ 1 (got {levels} and {perLevel})");
        }
        return EnvironmentFamilies.Run(on, new Irl(on, parameters, levels, reference, perLevel, demonstrator, gamma, iterations, learningRate, seed, firstLevel));
    }

    /// <summary>Whether every legal action of <paramref name="state"/> ends the episode where it is (the maze's cheese): nothing to demonstrate.</summary>
    public static bool Absorbing(TabularMdp mdp, int state)
    {
        ArgumentNullException.ThrowIfNull(mdp);
        for (var a = 0; a < mdp.ActionCount; a++)
        {
            var next = mdp.Next(state, a);
            if (next >= 0 && (next != state || !mdp.Ends(state, a)))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Demonstrations of <paramref name="reference"/> on <paramref name="levels"/>: soft (Boltzmann-rational,
    /// τ = 1, <paramref name="perLevel"/> from each level's start) or optimal (exact finite-horizon Q*, ties
    /// broken by the seed, one from every state that is not absorbing).
    /// </summary>
    /// <param name="levels">The levels; a demonstration's <see cref="Demonstration.Level"/> indexes this list.</param>
    /// <param name="reference">The objective the demonstrator pursues (its value on arrival is the reward).</param>
    /// <param name="demonstrator">Soft or optimal.</param>
    /// <param name="perLevel">Soft: demonstrations per level.</param>
    /// <param name="gamma">γ.</param>
    /// <param name="horizon">Steps per demonstration (<see cref="Horizon{TState}"/>).</param>
    /// <param name="seed">Seeds the stream <c>demonstrations</c>.</param>
    public static List<Demonstration> Generate<TState>(IReadOnlyList<IEnumerableEnvironment<TState>> levels, LoadedObjective reference, Demonstrator demonstrator,
        int perLevel, double gamma, int horizon, long seed)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(reference);
        var rng = Seeds.Stream((ulong)seed, "demonstrations");
        var demos = new List<Demonstration>();
        for (var l = 0; l < levels.Count; l++)
        {
            var mdp = TabularMdp.FromEnvironment(levels[l]);
            var reward = TabularMdp.EvaluateStates(levels[l], reference.Evaluator(levels[l]));
            if (demonstrator == Demonstrator.Optimal)
            {
                var q = MaxEntIrl.OptimalActionValues(mdp, reward, gamma, horizon);
                for (var s = 0; s < mdp.StateCount; s++)
                {
                    if (!Absorbing(mdp, s))
                    {
                        demos.Add(MaxEntIrl.OptimalDemonstration(mdp, q, l, s, ref rng));
                    }
                }
                continue;
            }
            var solution = ValueIteration.SolveSoft(mdp, reward, gamma, 1.0, horizon);
            var start = levels[l].IndexOf(levels[l].Initial);
            for (var k = 0; k < perLevel; k++)
            {
                demos.Add(MaxEntIrl.SoftDemonstration(mdp, solution, l, start, ref rng));
            }
        }
        return demos;
    }

    /// <summary>The demonstrations' horizon on a level: min(step limit, 4·√S + 8), at least 4.</summary>
    public static int Horizon<TState>(IEnumerableEnvironment<TState> level)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(level);
        return Math.Max(4, level.StepLimit > 0 ? Math.Min(level.StepLimit, 4 * (int)Math.Sqrt(level.StateCount) + 8) : 40);
    }

    private sealed record Irl(string On, DistributionParameters Parameters, int Levels, LoadedObjective Reference, int PerLevel, Demonstrator Demonstrator,
        double Gamma, int Iterations, double LearningRate, long Seed, long FirstLevel) : IFamilyOperation<ObjectiveCard>
    {
        public ObjectiveCard Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var distribution = family.Distribution(On, Parameters);
            var levels = Enumerable.Range(0, Levels).Select(l => distribution.Level(FirstLevel + l)).ToArray();
            var horizon = Horizon(levels[0]);
            var demos = Generate(levels, Reference, Demonstrator, PerLevel, Gamma, horizon, Seed);
            var options = new MaxEntIrlOptions(Gamma, 1.0, horizon, Iterations, LearningRate);
            var (card, _) = MaxEntIrl.Fit(levels, demos, levels[0].Features.Names.ToImmutableArray(), options);
            return card with { Provenance = card.Provenance with { On = On, Seed = Seed } };
        }
    }
}
