using System.Globalization;
using Telos.Environments;
using Telos.Objectives;
using Telos.Planning;
using Telos.Randomness;

namespace Telos.Agents;

/// <summary>
/// The objective a hard-coded agent pursues, bound to each level it plays (feature evaluators are
/// bound to one level's features). Readable when it is a linear-family card, neural otherwise.
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
public sealed class AgentObjective<TState>
    where TState : struct
{
    private readonly Func<IEnvironment<TState>, IStateEvaluator<TState>> _bind;

    /// <param name="label">How tables name it (a file name, <c>true</c>, <c>net</c>).</param>
    /// <param name="kind"><see cref="AgentKind.ReadableObjective"/> or <see cref="AgentKind.NeuralObjective"/>.</param>
    /// <param name="bind">The objective's batched evaluator on a level.</param>
    /// <param name="card">The card, when there is one (for traces and provenance).</param>
    /// <param name="weights">Feature weights for per-feature contributions in traces (default: the card's, when it is linear).</param>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is not an objective kind.</exception>
    public AgentObjective(string label, AgentKind kind, Func<IEnvironment<TState>, IStateEvaluator<TState>> bind, ObjectiveCard? card = null,
        IReadOnlyDictionary<string, double>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(bind);
        if (kind is not (AgentKind.ReadableObjective or AgentKind.NeuralObjective))
        {
            throw new ArgumentException($"an objective is readable or neural, not {kind}", nameof(kind));
        }
        Label = label;
        Kind = kind;
        _bind = bind;
        Card = card;
        Weights = weights ?? (card is null ? null : PlanTrace.LinearWeights(card));
    }

    /// <summary>How tables name it.</summary>
    public string Label { get; }

    /// <summary>Readable or neural.</summary>
    public AgentKind Kind { get; }

    /// <summary>The card, or null for an objective given only as a function.</summary>
    public ObjectiveCard? Card { get; }

    /// <summary>Weights by feature name of a linear-family card, for per-feature contributions in traces; null otherwise.</summary>
    public IReadOnlyDictionary<string, double>? Weights { get; }

    /// <summary>A feature card (linear, sparse, monotone, shaped: its base), compiled to its managed evaluator on each level.</summary>
    /// <exception cref="TelosInputException">A neural card: load it through Telos.Learning's ObjectiveFiles, whose LoadedObjective binds it.</exception>
    public static AgentObjective<TState> FromCard(ObjectiveCard card, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (!card.IsLinear)
        {
            throw new TelosInputException($"form '{ObjectiveCard.FormName(card.Form)}' is neural: load the card with its weights (ObjectiveFiles.Load) to plan with it");
        }
        var compiled = card.Compile();
        return new AgentObjective<TState>(label ?? $"{ObjectiveCard.FormName(card.Form)} card", AgentKind.ReadableObjective,
            level => new FeatureObjectiveEvaluator<TState>(level, compiled), card);
    }

    /// <summary>The evaluator for <paramref name="level"/>.</summary>
    /// <exception cref="TelosInputException">The objective's features or observations do not fit the level.</exception>
    public IStateEvaluator<TState> Bind(IEnvironment<TState> level) => _bind(level);
}

/// <summary>
/// A hard-coded agent: planner × model × objective. The model is the level itself; the
/// objective is swapped with <see cref="WithObjective"/>, which retargets the agent with no
/// training. Decision k of an episode searches with seed <c>Seeds.Derive(episodeSeed, "decision/k")</c>.
/// A complete (exact) plan is followed to its end without deciding again — by definition it is what
/// deciding again would choose — and the agent halts there.
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
public sealed class PlanningAgent<TState> : IExplainingAgent<TState>
    where TState : struct
{
    private readonly Queue<int> _plan = new();
    private readonly List<PlanDecision<TState>> _decisions = [];
    private IEnvironment<TState>? _level;
    private IStateEvaluator<TState>? _evaluator;
    private ulong _seed;
    private bool _planEndsInHalt;

    /// <param name="planner">The hard-coded optimizer.</param>
    /// <param name="objective">What it optimises.</param>
    /// <param name="budget">Simulations, horizon, discount; its seed is ignored (episodes bring their own). With <see cref="PlanBudget.KeepTree"/>, decisions keep their trees.</param>
    /// <exception cref="TelosInputException">The budget is out of range.</exception>
    public PlanningAgent(IPlanner<TState> planner, AgentObjective<TState> objective, PlanBudget budget)
    {
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentNullException.ThrowIfNull(objective);
        budget.Validate();
        Planner = planner;
        Objective = objective;
        Budget = budget;
    }

    /// <summary>The planner.</summary>
    public IPlanner<TState> Planner { get; }

    /// <summary>The objective it pursues.</summary>
    public AgentObjective<TState> Objective { get; }

    /// <summary>The search budget.</summary>
    public PlanBudget Budget { get; }

    public string Name => $"{Planner.Name} × {Objective.Label}";

    public AgentKind Kind => Objective.Kind;

    /// <summary>The decisions of the current (or last) episode, in order.</summary>
    public IReadOnlyList<PlanDecision<TState>> Decisions => _decisions;

    /// <summary>The same planner and budget pursuing <paramref name="objective"/>: retargeting without training.</summary>
    public PlanningAgent<TState> WithObjective(AgentObjective<TState> objective) => new(Planner, objective, Budget);

    public void Reset(IEnvironment<TState> level, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(level);
        if (!ReferenceEquals(level, _level))
        {
            _evaluator = Objective.Bind(level);
            _level = level;
        }
        _seed = seed;
        _plan.Clear();
        _decisions.Clear();
        _planEndsInHalt = false;
    }

    public int Act(in TState state)
    {
        if (_level is null || _evaluator is null)
        {
            throw new InvalidOperationException("Act before Reset: start an episode first");
        }
        if (_plan.TryDequeue(out var next))
        {
            return next;
        }
        if (_planEndsInHalt)
        {
            return AgentActions.Halt;
        }
        // A fresh, reproducible seed per decision: repeating one seed would replay the same
        // Gumbel or Dirichlet noise in every state and bias the agent the same way each time.
        var seed = Seeds.Derive(_seed, "decision/" + _decisions.Count.ToString(CultureInfo.InvariantCulture));
        var decision = Planner.Decide(state, _level, _evaluator, Budget with { Seed = seed });
        _decisions.Add(decision);
        if (decision.Halts)
        {
            return AgentActions.Halt;
        }
        if (!decision.Complete)
        {
            return decision.Action;
        }
        for (var i = 1; i < decision.PlanActions.Count; i++)
        {
            _plan.Enqueue(decision.PlanActions[i]);
        }
        _planEndsInHalt = true;
        return decision.PlanActions[0];
    }

    public IAgent<TState> Fork() => new PlanningAgent<TState>(Planner, Objective, Budget);

    public PlanTrace Explain(IEnvironment<TState> level, IReadOnlyList<TState> states, IReadOnlyList<int> actions, Func<int, string> actionName)
    {
        ArgumentNullException.ThrowIfNull(level);
        var evaluator = ReferenceEquals(level, _level) && _evaluator is not null ? _evaluator : Objective.Bind(level);
        return PlanTrace.Build(Planner.Name, level, evaluator, states, actions, Objective.Weights, actionName);
    }
}
